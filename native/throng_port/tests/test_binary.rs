//! The built program over real pipes, as `open_port/2` runs it.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use common::*;
use throng_port::proto::{atom, int, tuple};

const BIN: &str = env!("CARGO_BIN_EXE_throng_port");

fn read_frame(r: &mut impl Read) -> eetf::Term {
    let mut head = [0u8; 4];
    r.read_exact(&mut head).unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(head) as usize];
    r.read_exact(&mut payload).unwrap();
    eetf::Term::decode(&payload[..]).unwrap()
}

#[test]
fn test_over_pipes_handshake_ping_stats_bad_frame_eof() {
    let mut child = Command::new(BIN)
        .args(["--max-frame-bytes", "4096"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();

    stdin.write_all(&framed(&hello(1))).unwrap();
    stdin.flush().unwrap();
    assert_eq!(name(&elems(&read_frame(&mut stdout))[0]), "hello");

    // One write, several frames: answered in order.
    let mut burst = framed(&req(1, atom("ping")));
    burst.extend(framed(&req(2, atom("stats"))));
    burst.extend(framed(&[1, 2, 3]));
    burst.extend(framed(&vec![0; 5000]));
    burst.extend(framed(&req(3, atom("ping"))));
    stdin.write_all(&burst).unwrap();
    stdin.flush().unwrap();
    assert_eq!(read_frame(&mut stdout), tuple([atom("rep"), int(1), atom("pong")]));
    let stats = read_frame(&mut stdout);
    assert!(matches!(&elems(&stats)[2], eetf::Term::Map(m) if m.map.contains_key(&atom("sessions"))));
    let bad = read_frame(&mut stdout);
    assert_eq!(name(&elems(&bad)[0]), "error");
    let too_large = read_frame(&mut stdout);
    assert_eq!(name(&elems(&elems(&too_large)[2])[0]), "frame_too_large");
    assert_eq!(read_frame(&mut stdout), tuple([atom("rep"), int(3), atom("pong")]));

    // The port closes: the program exits 0 with nothing more to say.
    drop(stdin);
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn test_help_and_version() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for needle in ["protocol version 1", "--max-frame-bytes", "--max-sessions", "--max-queue-len", "--max-in-flight"] {
        assert!(text.contains(needle), "--help lacks {needle}");
    }
    let version = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("throng_port {} (protocol 1)\n", env!("CARGO_PKG_VERSION"))
    );
    let bad = Command::new(BIN).arg("--max-sessions").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// Reads that empty the pipe wait for the next readiness event
/// (`fdio`): a frame arriving in pieces, with pauses between them, and a
/// frame larger than the read buffer are both read whole.
#[test]
fn test_over_pipes_frames_in_pieces_and_larger_than_the_buffer() {
    let mut child = Command::new(BIN).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(&framed(&hello(1))).unwrap();
    assert_eq!(name(&elems(&read_frame(&mut stdout))[0]), "hello");

    let ping = framed(&req(1, atom("ping")));
    for piece in [&ping[..2], &ping[2..7], &ping[7..]] {
        stdin.write_all(piece).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(read_frame(&mut stdout), tuple([atom("rep"), int(1), atom("pong")]));

    let big = eetf::Term::from(eetf::Binary::from(vec![7u8; 200_000]));
    stdin.write_all(&framed(&req(2, tuple([atom("echo"), big.clone()])))).unwrap();
    stdin.write_all(&framed(&req(3, atom("ping")))).unwrap();
    stdin.flush().unwrap();
    assert_eq!(read_frame(&mut stdout), tuple([atom("rep"), int(2), big]));
    assert_eq!(read_frame(&mut stdout), tuple([atom("rep"), int(3), atom("pong")]));
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
