//! `{packet,4}` framing: a 4-byte big-endian length, then that many bytes.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// What reading a frame can end in besides a frame.
#[derive(Debug)]
pub enum FrameError {
    /// The length header announced more than the maximum. The payload was
    /// read and dropped: the stream is at the next frame and stays usable.
    TooLarge {
        /// The announced length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The input ended inside a frame (header or payload). Nothing more can
    /// be read.
    Truncated,
    /// Reading failed.
    Io(std::io::Error),
}

/// Reads `{packet,4}` frames of at most `max` bytes.
pub struct FrameReader<R> {
    inner: BufReader<R>,
    max: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader over a stream (buffered here, 64 KiB).
    pub fn new(inner: R, max: usize) -> Self {
        FrameReader { inner: BufReader::with_capacity(64 * 1024, inner), max }
    }

    /// Whether input is already buffered: then replies are not flushed yet,
    /// so a pipelined burst is answered with few writes.
    pub fn has_buffered(&self) -> bool {
        !self.inner.buffer().is_empty()
    }

    /// Waits until input is buffered or the input ended (`Ok(false)`).
    /// Cancel-safe: what arrives stays in the buffer.
    pub async fn ready(&mut self) -> Result<bool, FrameError> {
        Ok(!self.inner.fill_buf().await.map_err(FrameError::Io)?.is_empty())
    }

    /// The next frame; `Ok(None)` at the end of the input between frames.
    pub async fn read(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let mut payload = Vec::new();
        Ok(self.read_into(&mut payload).await?.then_some(payload))
    }

    /// The next frame into `payload` (its old contents dropped, its
    /// allocation reused); `Ok(false)` at the end of the input between
    /// frames.
    pub async fn read_into(&mut self, payload: &mut Vec<u8>) -> Result<bool, FrameError> {
        if self.inner.fill_buf().await.map_err(FrameError::Io)?.is_empty() {
            return Ok(false);
        }
        let mut head = [0u8; 4];
        self.read_exact(&mut head).await?;
        let len = u32::from_be_bytes(head) as usize;
        if len > self.max {
            let mut left = len;
            while left > 0 {
                let buf = self.inner.fill_buf().await.map_err(FrameError::Io)?;
                if buf.is_empty() {
                    return Err(FrameError::Truncated);
                }
                let n = buf.len().min(left);
                self.inner.consume(n);
                left -= n;
            }
            return Err(FrameError::TooLarge { len, max: self.max });
        }
        payload.clear();
        payload.resize(len, 0);
        self.read_exact(payload).await?;
        Ok(true)
    }

    async fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), FrameError> {
        match self.inner.read_exact(buf).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(FrameError::Truncated),
            Err(e) => Err(FrameError::Io(e)),
        }
    }
}

/// Writes one frame (not flushed).
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, payload: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(payload).await
}

/// A frame's bytes: the length header and the payload.
pub fn framed(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 4);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}
