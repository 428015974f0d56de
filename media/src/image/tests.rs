use std::io::Cursor;

use ::image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

use super::*;

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

fn photo(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    }))
}

fn transparent(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgba8(RgbaImage::from_fn(width, height, |x, _| {
        Rgba([255, 0, 0, (x % 256) as u8])
    }))
}

/// A PNG chunk with its CRC, for headers written by hand.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in kind.iter().chain(data) {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&(!crc).to_be_bytes());
    out
}

fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    // A little zlib data (an empty stored block) so the decoder gets past the header if it would.
    png.extend(chunk(
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01,
        ],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn dimensions_come_from_headers() {
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::WebP,
    ] {
        let bytes = encoded(&photo(37, 21), format);
        assert_eq!(dimensions(&bytes), Some((37, 21)), "{format:?}");
        let head = &bytes[..bytes.len().min(64)];
        if format != ImageFormat::Jpeg {
            assert_eq!(dimensions(head), Some((37, 21)), "{format:?} from 64 bytes");
        }
    }
}

#[test]
fn dimensions_of_lossy_and_extended_webp() {
    let mut lossy = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0".to_vec();
    lossy.extend_from_slice(&[0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A]);
    lossy.extend_from_slice(&640u16.to_le_bytes());
    lossy.extend_from_slice(&(480u16 | 0x4000).to_le_bytes());
    assert_eq!(dimensions(&lossy), Some((640, 480)));

    let mut extended = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x10\0\0\0".to_vec();
    extended.extend_from_slice(&[0x7F, 0x07, 0x00, 0x37, 0x04, 0x00]);
    assert_eq!(dimensions(&extended), Some((1920, 1080)));
}

#[test]
fn dimensions_skip_jpeg_metadata_segments() {
    let jpeg = encoded(&photo(5, 3), ImageFormat::Jpeg);
    let mut with_exif = jpeg[..2].to_vec();
    let exif = vec![0u8; 3000];
    with_exif.extend_from_slice(&[0xFF, 0xE1]);
    with_exif.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(&exif);
    with_exif.extend_from_slice(&jpeg[2..]);
    assert_eq!(dimensions(&with_exif), Some((5, 3)));
    assert_eq!(dimensions(&with_exif[..2000]), None);
}

#[test]
fn dimensions_of_anything_else_are_unknown() {
    for head in [
        &b""[..],
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a\0\0\x01\0",
        b"\xff\xd8\xff\xda",
        b"<svg>",
        b"RIFF\0\0\0\0WEBPVP8 ",
    ] {
        assert_eq!(dimensions(head), None, "{head:?}");
    }
    assert_eq!(
        dimensions(&png_claiming(100_000, 100_000)),
        Some((100_000, 100_000))
    );
}

#[test]
fn dimensions_never_panic_on_truncated_heads() {
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::WebP,
    ] {
        let bytes = encoded(&photo(9, 9), format);
        for len in 0..bytes.len().min(700) {
            let _ = dimensions(&bytes[..len]);
        }
    }
}

#[test]
fn thumbnails_fit_the_box_and_keep_the_aspect_ratio() {
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::WebP,
    ] {
        let bytes = encoded(&photo(400, 100), format);
        let thumb = thumbnail(Cursor::new(bytes), 200).unwrap();
        assert_eq!((thumb.width, thumb.height), (200, 50), "{format:?}");
        assert_eq!(thumb.media_type, "image/jpeg", "{format:?}");
        assert_eq!(dimensions(&thumb.bytes), Some((200, 50)), "{format:?}");
    }
}

#[test]
fn small_images_are_not_enlarged() {
    let thumb = thumbnail(Cursor::new(encoded(&photo(30, 40), ImageFormat::Png)), 200).unwrap();
    assert_eq!((thumb.width, thumb.height), (30, 40));
}

#[test]
fn transparency_is_kept_as_png() {
    let thumb = thumbnail(
        Cursor::new(encoded(&transparent(300, 300), ImageFormat::Png)),
        100,
    )
    .unwrap();
    assert_eq!(thumb.media_type, "image/png");
    assert_eq!(MediaKindCheck::of(&thumb.bytes), "image/png");
    let opaque = DynamicImage::ImageRgba8(RgbaImage::from_pixel(50, 50, Rgba([1, 2, 3, 255])));
    let thumb = thumbnail(Cursor::new(encoded(&opaque, ImageFormat::Png)), 100).unwrap();
    assert_eq!(thumb.media_type, "image/jpeg");
}

/// The thumbnail's bytes are what its media type says.
struct MediaKindCheck;

impl MediaKindCheck {
    fn of(bytes: &[u8]) -> &'static str {
        crate::MediaKind::detect("thumb", bytes).media_type
    }
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    let error = thumbnail(Cursor::new(png_claiming(100_000, 100_000)), 200).unwrap_err();
    assert!(
        matches!(
            error,
            ThumbnailError::TooLarge {
                width: 100_000,
                height: 100_000
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("100000×100000"));
}

#[test]
fn limits_can_be_lowered() {
    let bytes = encoded(&photo(100, 100), ImageFormat::Png);
    let tight = DecodeLimits {
        max_pixels: 9_999,
        ..DecodeLimits::default()
    };
    let error = thumbnail_within(Cursor::new(bytes.clone()), 50, tight).unwrap_err();
    assert!(
        matches!(error, ThumbnailError::TooLarge { .. }),
        "{error:?}"
    );
    let little_memory = DecodeLimits {
        max_alloc_bytes: 1000,
        ..DecodeLimits::default()
    };
    let error = thumbnail_within(Cursor::new(bytes), 50, little_memory).unwrap_err();
    assert!(
        matches!(error, ThumbnailError::TooLarge { .. }),
        "{error:?}"
    );
}

#[test]
fn other_files_are_not_images() {
    for bytes in [&b""[..], b"plain text", b"<svg></svg>", b"%PDF-1.7"] {
        let error = thumbnail(Cursor::new(bytes.to_vec()), 100).unwrap_err();
        assert!(
            matches!(error, ThumbnailError::NotAnImage),
            "{bytes:?}: {error:?}"
        );
    }
}

#[test]
fn broken_images_are_decode_errors() {
    let mut bytes = encoded(&photo(64, 64), ImageFormat::Png);
    bytes.truncate(bytes.len() / 2);
    let error = thumbnail(Cursor::new(bytes), 32).unwrap_err();
    assert!(
        matches!(error, ThumbnailError::Decode(_) | ThumbnailError::Read(_)),
        "{error:?}"
    );
}
