//! `throng_port`: see `--help`.

use std::process::ExitCode;

use throng_port::fdio::Pipe;
use throng_port::proto::PROTOCOL_VERSION;
use throng_port::server::serve;
use throng_port::Limits;

/// mimalloc: the program allocates and frees a term tree per frame and
/// an encoding per value (measured: glibc's malloc took a third of the
/// time of batched casts, mostly in its free-list upkeep).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn help(d: &Limits) -> String {
    format!(
        "\
throng_port {version}: the Throng engine as an Erlang port program.

It reads {{packet,4}} frames of External Term Format on stdin and writes
frames on stdout: protocol version {PROTOCOL_VERSION} (draft), documented in the
Throng sources at docs/port-protocol.md. Start it from Erlang with

    open_port({{spawn_executable, Path}}, [{{packet, 4}}, binary, exit_status])

and send term_to_binary({{hello, {PROTOCOL_VERSION}, #{{}}}}) first. It exits with
status 0 when its stdin closes or after engine_stop, 3 when the input ends
inside a frame, 4 on a protocol version it does not speak, 2 on bad flags.

Usage: throng_port [FLAGS]

Flags (limits; the hello options may lower but not raise them):
  --max-frame-bytes N  largest frame accepted; a larger one is skipped and
                       answered with an error frame   [default {mfb}]
  --max-sessions N     most live sessions             [default {ms}]
  --max-queue-len N    most unhandled events per session [default {mq}]
  --max-in-flight N    most requests the BEAM side may have unanswered
                       (announced in the hello reply) [default {mif}]
  --max-depth N        deepest nesting of a frame's term [default {md}]
  --max-terms N        most terms in one frame        [default {mt}]
  --help               this text
  --version            the program's and the protocol's versions
",
        version = env!("CARGO_PKG_VERSION"),
        mfb = d.max_frame_bytes,
        ms = d.max_sessions,
        mq = d.max_queue_len,
        mif = d.max_in_flight,
        md = d.max_depth,
        mt = d.max_terms,
    )
}

enum Cmd {
    Serve(Limits),
    Help,
    Version,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Cmd, String> {
    let mut l = Limits::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let slot = match name.as_str() {
            "--help" | "-h" => return Ok(Cmd::Help),
            "--version" | "-V" => return Ok(Cmd::Version),
            "--max-frame-bytes" => &mut l.max_frame_bytes,
            "--max-sessions" => &mut l.max_sessions,
            "--max-queue-len" => &mut l.max_queue_len,
            "--max-in-flight" => &mut l.max_in_flight,
            "--max-depth" => &mut l.max_depth,
            "--max-terms" => &mut l.max_terms,
            _ => return Err(format!("unknown flag {flag}")),
        };
        let value = inline.or_else(|| args.next()).ok_or_else(|| format!("{name} needs a value"))?;
        *slot = match value.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("{name}: {value} is not a positive integer")),
        };
    }
    if u32::try_from(l.max_frame_bytes).is_err() {
        return Err("--max-frame-bytes: a {packet,4} frame holds at most 4294967295 bytes".into());
    }
    Ok(Cmd::Serve(l))
}

fn main() -> ExitCode {
    let limits = match parse(std::env::args().skip(1)) {
        Ok(Cmd::Help) => {
            print!("{}", help(&Limits::default()));
            return ExitCode::SUCCESS;
        }
        Ok(Cmd::Version) => {
            println!("throng_port {} (protocol {PROTOCOL_VERSION})", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Cmd::Serve(l)) => l,
        Err(e) => {
            eprintln!("throng_port: {e} (see --help)");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("throng_port: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Pipes (the BEAM's port) are polled by the runtime itself; anything
    // else is read through tokio's stdin (throng_port::fdio).
    let pipes = rt.block_on(async { (Pipe::stdin(), Pipe::stdout()) });
    let served = match pipes {
        (Some(i), Some(o)) => rt.block_on(serve(i, o, limits)),
        _ => rt.block_on(serve(tokio::io::stdin(), tokio::io::stdout(), limits)),
    };
    match served {
        Ok(exit) => ExitCode::from(exit.code() as u8),
        // The BEAM closed the port while a reply was written.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("throng_port: {e}");
            ExitCode::from(1)
        }
    }
}
