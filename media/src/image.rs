//! Image dimensions from the first bytes, and thumbnails with decoding limits.
//!
//! [`dimensions`] reads only headers, by hand, so that an upload's width and height (for the
//! `width`/`height` of an `<img>`, which keep a page from jumping as it loads) cost nothing and never
//! decode a pixel.
//!
//! [`thumbnail`] decodes with the `image` crate, which is where hostile input costs: a 100 KB PNG can
//! claim 100000×100000 pixels. So the header is read first and an image over
//! [`DecodeLimits::max_pixels`] is refused before anything is allocated, and the decoder runs under
//! `image::Limits` (its allocations bounded by [`DecodeLimits::max_alloc_bytes`]). Thumbnails keep the
//! aspect ratio, follow the EXIF orientation (phone photos), are never enlarged, and are PNG when the
//! image has transparency (JPEG would paint it black) and JPEG at quality 80 otherwise (a fraction of the
//! size for photos; `image`'s WebP encoder is lossless only, so it would not be smaller).

use std::io::{BufReader, Read, Seek};

use ::image::codecs::jpeg::JpegEncoder;
use ::image::codecs::png::PngEncoder;
use ::image::error::ImageError;
use ::image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader};

/// The width and height of a PNG, JPEG, GIF or WebP image from its first bytes, or `None` when `head`
/// is not one of these or ends before the size. A JPEG's size comes after its metadata segments, which
/// can be large (an EXIF thumbnail): pass 64 KiB to be sure of it.
pub fn dimensions(head: &[u8]) -> Option<(u32, u32)> {
    let size = match head {
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n', _, _, _, _, b'I', b'H', b'D', b'R', ..] => {
            (be32(head, 16)?, be32(head, 20)?)
        }
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', w0, w1, h0, h1, ..] => (
            u32::from(u16::from_le_bytes([*w0, *w1])),
            u32::from(u16::from_le_bytes([*h0, *h1])),
        ),
        [0xFF, 0xD8, ..] => jpeg_dimensions(head)?,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => webp_dimensions(head)?,
        _ => return None,
    };
    (size.0 > 0 && size.1 > 0).then_some(size)
}

/// The size in a JPEG's start-of-frame segment, walking the segments before it.
fn jpeg_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        if *head.get(at)? != 0xFF {
            return None;
        }
        let marker = *head.get(at + 1)?;
        match marker {
            // Fill bytes before a marker.
            0xFF => at += 1,
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => at += 2,
            // Start of frame (all but DHT, JPG and DAC, which share the range).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = u32::from(be16(head, at + 5)?);
                let width = u32::from(be16(head, at + 7)?);
                return Some((width, height));
            }
            // The image data starts before any frame: not a JPEG we understand.
            0xD9 | 0xDA => return None,
            _ => at += 2 + usize::from(be16(head, at + 2)?),
        }
    }
}

/// The canvas size of a WebP, from its first chunk: lossy (`VP8 `), lossless (`VP8L`) or extended (`VP8X`).
fn webp_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    match head.get(12..16)? {
        b"VP8 " => {
            if head.get(23..26)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let width = le16(head, 26)? & 0x3FFF;
            let height = le16(head, 28)? & 0x3FFF;
            Some((u32::from(width), u32::from(height)))
        }
        b"VP8L" => {
            if *head.get(20)? != 0x2F {
                return None;
            }
            let bits = u32::from_le_bytes(head.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(head, 24)? + 1, le24(head, 27)? + 1)),
        _ => None,
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 3)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

/// What decoding one image may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most pixels (width × height) an image may have to be decoded.
    pub max_pixels: u64,
    /// The most bytes the decoder may allocate, the decoded image included.
    pub max_alloc_bytes: u64,
}

impl Default for DecodeLimits {
    /// 50 megapixels (a large camera photo) and 256 MiB (its RGBA buffer, with room to spare).
    fn default() -> Self {
        DecodeLimits {
            max_pixels: 50_000_000,
            max_alloc_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A thumbnail, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// `image/png` or `image/jpeg`.
    pub media_type: &'static str,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// The encoded image.
    pub bytes: Vec<u8>,
}

/// Why no thumbnail was made. None of these is the uploader's fault to fix but the first two; the file
/// is stored either way, only without a thumbnail.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    /// Not a PNG, JPEG, GIF or WebP image.
    #[error("the file is not an image quire makes thumbnails of (PNG, JPEG, GIF or WebP)")]
    NotAnImage,
    /// The image is larger than [`DecodeLimits`] allow.
    #[error("the image is {width}×{height} pixels, too large to make a thumbnail of")]
    TooLarge {
        /// Its width, as its header claims.
        width: u32,
        /// Its height, as its header claims.
        height: u32,
    },
    /// The image is broken or uses a feature the decoder lacks.
    #[error("the image could not be decoded: {0}")]
    Decode(String),
    /// The thumbnail could not be encoded (a bug rather than bad input).
    #[error("the thumbnail could not be encoded: {0}")]
    Encode(String),
    /// Reading the image failed.
    #[error("the image could not be read")]
    Read(#[from] std::io::Error),
}

/// A thumbnail of the image `reader` holds, at most `max_side` pixels wide and high, decoded within
/// [`DecodeLimits::default`].
pub fn thumbnail(reader: impl Read + Seek, max_side: u32) -> Result<Thumbnail, ThumbnailError> {
    thumbnail_within(reader, max_side, DecodeLimits::default())
}

/// A thumbnail of the image `reader` holds, at most `max_side` pixels wide and high, decoded within `limits`.
pub fn thumbnail_within(
    reader: impl Read + Seek,
    max_side: u32,
    limits: DecodeLimits,
) -> Result<Thumbnail, ThumbnailError> {
    let max_side = max_side.max(1);
    let mut reader = ImageReader::new(BufReader::new(reader)).with_guessed_format()?;
    if reader.format().is_none() {
        return Err(ThumbnailError::NotAnImage);
    }
    let mut image_limits = ::image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    let too_large = ThumbnailError::TooLarge { width, height };
    if u64::from(width) * u64::from(height) > limits.max_pixels
        || decoder.total_bytes() > limits.max_alloc_bytes
    {
        return Err(too_large);
    }
    let orientation = decoder.orientation().map_err(decode_error)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    if image.width() > max_side || image.height() > max_side {
        image = image.thumbnail(max_side, max_side);
    }
    encode(&image)
}

fn encode(image: &DynamicImage) -> Result<Thumbnail, ThumbnailError> {
    let (width, height) = (image.width(), image.height());
    let mut bytes = Vec::new();
    let transparent = has_transparency(image);
    let encoded = if transparent {
        let rgba = image.to_rgba8();
        PngEncoder::new(&mut bytes).write_image(
            &rgba,
            width,
            height,
            ::image::ExtendedColorType::Rgba8,
        )
    } else {
        let rgb = image.to_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, 80).write_image(
            &rgb,
            width,
            height,
            ::image::ExtendedColorType::Rgb8,
        )
    };
    encoded.map_err(|error| ThumbnailError::Encode(error.to_string()))?;
    let media_type = if transparent {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok(Thumbnail {
        media_type,
        width,
        height,
        bytes,
    })
}

/// Whether any pixel is not fully opaque: screenshots are often RGBA with nothing transparent, and
/// deserve the smaller JPEG.
fn has_transparency(image: &DynamicImage) -> bool {
    image.color().has_alpha() && image.to_rgba8().pixels().any(|pixel| pixel[3] < u8::MAX)
}

fn decode_error(error: ImageError) -> ThumbnailError {
    match error {
        ImageError::Unsupported(_) => ThumbnailError::NotAnImage,
        ImageError::Limits(_) => ThumbnailError::Decode("over the decoding limits".to_owned()),
        ImageError::IoError(error) => ThumbnailError::Read(error),
        other => ThumbnailError::Decode(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
