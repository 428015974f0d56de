//! The first bytes of a file about to be stored, read once: they decide its media type and an
//! image's size, and are then stored ahead of the rest of the stream. One reading for both ways a
//! file comes in, an upload and an import, so both store the same facts about it.

use std::io::{self, Read};

/// How many bytes are read: the first `media::HEAD_BYTES` decide the media type, and a JPEG's size
/// may come after a large EXIF block.
pub const HEAD_BYTES: usize = 64 * 1024;

/// What a file's first bytes say.
#[derive(Debug)]
pub struct FileHead {
    /// The bytes read (up to [`HEAD_BYTES`]): to be stored before the rest.
    pub bytes: Vec<u8>,
    /// How to serve the file.
    pub detected: media::Detected,
    /// An image's width and height, when its head says.
    pub dimensions: Option<(u32, u32)>,
}

impl FileHead {
    /// Reads the head of the file called `name` (already cleaned) from `reader`, which goes on
    /// with the rest.
    pub fn read(name: &str, reader: &mut impl Read) -> io::Result<FileHead> {
        let mut bytes = Vec::with_capacity(HEAD_BYTES);
        reader.take(HEAD_BYTES as u64).read_to_end(&mut bytes)?;
        let detected = media::MediaKind::detect(name, &bytes);
        let dimensions = media::image::dimensions(&bytes);
        Ok(FileHead {
            bytes,
            detected,
            dimensions,
        })
    }

    /// The image's width, if known.
    pub fn width(&self) -> Option<u32> {
        self.dimensions.map(|(width, _)| width)
    }

    /// The image's height, if known.
    pub fn height(&self) -> Option<u32> {
        self.dimensions.map(|(_, height)| height)
    }
}
