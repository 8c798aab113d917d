//! The artifact: a database image compressed with zstd, with SHA-256 of both sides computed while
//! the bytes stream through, so that no extra pass over the data is needed to checksum it.
//!
//! This module knows files and bytes only; it never opens a database (that is `live` for the live
//! one and `check` for snapshots).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::durable;
use crate::error::{Error, Result};
use crate::manifest::hex;
use crate::progress::{Observer, Stage};

/// Size of the chunks read and written; large enough for throughput, small enough for memory.
const CHUNK: usize = 256 << 10;
/// Input handed to each zstd worker at a time. zstd's default for level 3 is four times the window
/// (8 MiB), and it keeps several jobs' input and output in flight: smaller jobs keep peak memory
/// flat and well under 64 MiB at a cost in ratio too small to measure on database pages.
const ZSTD_JOB_BYTES: u32 = 2 << 20;

/// Size and SHA-256 of a run of bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digested {
    pub size: u64,
    pub sha256: String,
}

/// What compressing or decompressing saw on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transformed {
    pub artifact: Digested,
    pub image: Digested,
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        self.bytes += read as u64;
        Ok(read)
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| Error::io("cannot open", path, source))
}

fn file_size(file: &File, path: &Path) -> Result<u64> {
    Ok(file
        .metadata()
        .map_err(|source| Error::io("cannot read", path, source))?
        .len())
}

/// Copies `reader` to `writer` in chunks, reporting progress against `total` and stopping when the
/// observer cancels.
fn pump(
    reader: &mut impl Read,
    writer: &mut impl Write,
    stage: Stage,
    total: u64,
    observer: &dyn Observer,
    reading: &Path,
    writing: &Path,
) -> Result<u64> {
    let mut buffer = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        if observer.cancelled() {
            return Err(Error::Cancelled);
        }
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(Error::io("cannot read", reading, source)),
        };
        writer
            .write_all(&buffer[..read])
            .map_err(|source| Error::io("cannot write", writing, source))?;
        done += read as u64;
        observer.progress(stage, done.min(total), total);
    }
    Ok(done)
}

/// Compresses the database image at `image` into a new file `artifact` (synced before returning).
pub fn compress(
    image: &Path,
    artifact: &Path,
    level: i32,
    observer: &dyn Observer,
) -> Result<Transformed> {
    let source = open(image)?;
    let total = file_size(&source, image)?;
    let mut reader = HashingReader {
        inner: BufReader::with_capacity(CHUNK, source),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let output = durable::SteadyFile::new(durable::create(artifact)?);
    let sink = HashingWriter {
        inner: BufWriter::with_capacity(CHUNK, output),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let write_error = |source| Error::io("cannot write", artifact, source);
    let mut encoder = zstd::stream::write::Encoder::new(sink, level).map_err(write_error)?;
    let workers = std::thread::available_parallelism().map_or(1, |count| count.get() as u32);
    // Multithreading is an optimisation: a zstd built without it still compresses correctly.
    if encoder.multithread(workers).is_ok() {
        let _ = encoder.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB_BYTES));
    }
    encoder.include_checksum(true).map_err(write_error)?;
    let _ = encoder.set_pledged_src_size(Some(total));
    pump(
        &mut reader,
        &mut encoder,
        Stage::Compress,
        total,
        observer,
        image,
        artifact,
    )?;
    let mut sink = encoder.finish().map_err(write_error)?;
    sink.flush().map_err(write_error)?;
    let file = sink
        .inner
        .into_inner()
        .map_err(|error| write_error(error.into_error()))?
        .into_file();
    durable::sync(&file, artifact)?;
    Ok(Transformed {
        artifact: Digested {
            size: sink.bytes,
            sha256: hex(&sink.hasher.finalize()),
        },
        image: Digested {
            size: reader.bytes,
            sha256: hex(&reader.hasher.finalize()),
        },
    })
}

/// What becomes of a decompressed image, which decides whether it is worth the disk's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpacked {
    /// Read (checked, restored from through SQLite) and removed again: never flushed to the disk,
    /// so a restore's disk time goes to the live database's own writes.
    Scratch,
    /// Renamed into place as a database: written out steadily and synced before returning.
    Durable,
}

/// Decompresses `artifact` into a new file `image`. A damaged artifact is reported as
/// [`Error::Corrupt`] naming `id`.
pub fn decompress(
    artifact: &Path,
    image: &Path,
    unpacked: Unpacked,
    id: &str,
    observer: &dyn Observer,
) -> Result<Transformed> {
    let source = open(artifact)?;
    let total = file_size(&source, artifact)?;
    let counting = HashingReader {
        inner: source,
        hasher: Sha256::new(),
        bytes: 0,
    };
    let corrupt = |problem: String| Error::Corrupt {
        id: id.to_string(),
        problem,
    };
    let mut decoder = zstd::stream::read::Decoder::new(counting)
        .map_err(|error| corrupt(format!("it cannot be decompressed ({error})")))?;
    let file = durable::create(image)?;
    let (output, to_sync): (Box<dyn Write>, _) = match unpacked {
        Unpacked::Scratch => (Box::new(file), None),
        Unpacked::Durable => {
            let handle = file
                .try_clone()
                .map_err(|source| Error::io("cannot open", image, source))?;
            (Box::new(durable::SteadyFile::new(file)), Some(handle))
        }
    };
    let mut sink = HashingWriter {
        inner: BufWriter::with_capacity(CHUNK, output),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut buffer = vec![0u8; CHUNK];
    loop {
        if observer.cancelled() {
            return Err(Error::Cancelled);
        }
        let read = match decoder.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) if source.raw_os_error().is_some() => {
                return Err(Error::io("cannot read", artifact, source));
            }
            // Any other error comes from zstd itself: damage in the artifact, not a failing disk.
            Err(error) => return Err(corrupt(format!("it cannot be decompressed ({error})"))),
        };
        sink.write_all(&buffer[..read])
            .map_err(|source| Error::io("cannot write", image, source))?;
        let consumed = decoder.get_ref().get_ref().bytes;
        observer.progress(Stage::Decompress, consumed.min(total), total);
    }
    // Bytes after the last zstd frame would be ignored by the decoder; hash them too so a changed
    // tail is still caught by the checksum.
    let mut buffered = decoder.finish();
    io::copy(&mut buffered, &mut io::sink())
        .map_err(|source| Error::io("cannot read", artifact, source))?;
    let reader = buffered.into_inner();
    sink.flush()
        .map_err(|source| Error::io("cannot write", image, source))?;
    drop(
        sink.inner
            .into_inner()
            .map_err(|error| Error::io("cannot write", image, error.into_error()))?,
    );
    if let Some(file) = to_sync {
        durable::sync(&file, image)?;
    }
    Ok(Transformed {
        artifact: Digested {
            size: reader.bytes,
            sha256: hex(&reader.hasher.finalize()),
        },
        image: Digested {
            size: sink.bytes,
            sha256: hex(&sink.hasher.finalize()),
        },
    })
}

/// Size and SHA-256 of a file, read in chunks.
pub fn digest_file(path: &Path, observer: &dyn Observer) -> Result<Digested> {
    let file = open(path)?;
    let total = file_size(&file, path)?;
    let mut reader = BufReader::with_capacity(CHUNK, file);
    let mut sink = HashingWriter {
        inner: io::sink(),
        hasher: Sha256::new(),
        bytes: 0,
    };
    pump(
        &mut reader,
        &mut sink,
        Stage::Verify,
        total,
        observer,
        path,
        path,
    )?;
    Ok(Digested {
        size: sink.bytes,
        sha256: hex(&sink.hasher.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    #[test]
    fn compress_then_decompress_gives_back_the_bytes_and_agrees_on_hashes() {
        let folder = tempfile::tempdir().expect("tempdir");
        let image = folder.path().join("image");
        let bytes: Vec<u8> = (0..3_000_000u32)
            .map(|n| (n % 251) as u8 ^ (n >> 12) as u8)
            .collect();
        std::fs::write(&image, &bytes).expect("write");
        let artifact = folder.path().join("a.zst");
        let packed = compress(&image, &artifact, 3, &Silent).expect("compress");
        assert_eq!(packed.image.size, bytes.len() as u64);
        assert_eq!(
            packed.artifact,
            digest_file(&artifact, &Silent).expect("digest")
        );
        let back = folder.path().join("back");
        let unpacked =
            decompress(&artifact, &back, Unpacked::Durable, "x", &Silent).expect("decompress");
        assert_eq!(unpacked, packed);
        assert_eq!(std::fs::read(&back).expect("read"), bytes);
    }

    #[test]
    fn a_damaged_artifact_is_reported_as_corrupt() {
        let folder = tempfile::tempdir().expect("tempdir");
        let image = folder.path().join("image");
        std::fs::write(&image, vec![7u8; 500_000]).expect("write");
        let artifact = folder.path().join("a.zst");
        compress(&image, &artifact, 3, &Silent).expect("compress");
        let mut damaged = std::fs::read(&artifact).expect("read");
        let middle = damaged.len() / 2;
        damaged.truncate(middle);
        std::fs::write(&artifact, &damaged).expect("write");
        let result = decompress(
            &artifact,
            &folder.path().join("back"),
            Unpacked::Scratch,
            "x",
            &Silent,
        );
        assert!(matches!(result, Err(Error::Corrupt { .. })), "{result:?}");
    }
}
