//! Writes the tray icon's pictures into icons/: `lifeboat-<colour>-<size>.png` for each state at
//! 16, 24 and 32 px, and the blue one (the app's own icon, the colour of "starting") also at 48,
//! 64, 128 and 256 px for the Linux package's hicolor theme; `preview.png`, every one of them at four times their size on a light and on a
//! dark panel, for a reviewer to look at; and for the installers `lifeboat-<colour>.ico` (16, 24,
//! 32, 48 and 256 px) and `lifeboat-<colour>.icns` (16 to 256 px), both holding PNG images.
//!
//!     cargo run --example icons
//!
//! The pixels come from the agent's own drawing code (src/agent/icons.rs), so what is checked in
//! is what the tray shows; tests/icons.rs fails when the two drift apart.

#[path = "../src/agent/icons.rs"]
#[allow(dead_code)]
mod icons;

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use icons::Colour;

const SIZES: [u32; 3] = [16, 24, 32];
/// The larger sizes of the application icon, which only the installers use.
const APP_SIZES: [u32; 4] = [48, 64, 128, 256];
const ZOOM: u32 = 4;
const GAP: u32 = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("icons");
    std::fs::create_dir_all(&folder)?;
    for colour in Colour::ALL {
        for size in SIZES {
            let path = folder.join(format!("lifeboat-{}-{size}.png", colour.name()));
            write_png(&path, &icons::render(colour, size), size, size)?;
        }
        let name = colour.name();
        std::fs::write(folder.join(format!("lifeboat-{name}.ico")), ico(colour)?)?;
        std::fs::write(folder.join(format!("lifeboat-{name}.icns")), icns(colour)?)?;
    }
    for size in APP_SIZES {
        let path = folder.join(format!("lifeboat-blue-{size}.png"));
        write_png(&path, &icons::render(Colour::Blue, size), size, size)?;
    }
    // The preview: one row per panel colour; in each, the four states at 16, 24 and 32 px.
    let cell = 32 * ZOOM + GAP;
    let width = GAP + cell * (Colour::ALL.len() as u32) * (SIZES.len() as u32);
    let height = GAP + 2 * cell;
    let mut canvas = vec![0u8; (width * height * 4) as usize];
    for (band, background) in [[0xf2, 0xf2, 0xf2], [0x2b, 0x2b, 0x2b]]
        .into_iter()
        .enumerate()
    {
        for y in band as u32 * cell..(band as u32 + 1) * cell + GAP {
            for x in 0..width {
                put(&mut canvas, width, x, y.min(height - 1), background, 255);
            }
        }
        let mut left = GAP;
        for colour in Colour::ALL {
            for size in SIZES {
                let pixels = icons::render(colour, size);
                let top = GAP + band as u32 * cell + (32 - size) * ZOOM / 2;
                for y in 0..size * ZOOM {
                    for x in 0..size * ZOOM {
                        let at = (((y / ZOOM) * size + x / ZOOM) * 4) as usize;
                        let [red, green, blue, alpha] =
                            [pixels[at], pixels[at + 1], pixels[at + 2], pixels[at + 3]];
                        let mix = |over: u8, under: u8| {
                            ((u32::from(over) * u32::from(alpha)
                                + u32::from(under) * (255 - u32::from(alpha)))
                                / 255) as u8
                        };
                        let colour = [
                            mix(red, background[0]),
                            mix(green, background[1]),
                            mix(blue, background[2]),
                        ];
                        put(&mut canvas, width, left + x, top + y, colour, 255);
                    }
                }
                left += cell;
            }
        }
    }
    write_png(&folder.join("preview.png"), &canvas, width, height)?;
    println!("wrote the icons and preview.png into {}", folder.display());
    Ok(())
}

fn put(canvas: &mut [u8], width: u32, x: u32, y: u32, colour: [u8; 3], alpha: u8) {
    let at = ((y * width + x) * 4) as usize;
    canvas[at..at + 3].copy_from_slice(&colour);
    canvas[at + 3] = alpha;
}

fn write_png(
    path: &Path,
    pixels: &[u8],
    width: u32,
    height: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut encoder = png::Encoder::new(BufWriter::new(File::create(path)?), width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(pixels)?;
    Ok(())
}

/// The icon at `size` px as PNG bytes.
fn png_bytes(colour: Colour, size: u32) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()?
        .write_image_data(&icons::render(colour, size))?;
    Ok(bytes)
}

/// A Windows .ico: a directory of entries, each a PNG image (allowed since Windows Vista).
fn ico(colour: Colour) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let sizes = [16u32, 24, 32, 48, 256];
    let images = sizes
        .iter()
        .map(|size| png_bytes(colour, *size))
        .collect::<Result<Vec<_>, _>>()?;
    let mut file = Vec::new();
    file.extend_from_slice(&0u16.to_le_bytes());
    file.extend_from_slice(&1u16.to_le_bytes());
    file.extend_from_slice(&(sizes.len() as u16).to_le_bytes());
    let mut offset = 6 + 16 * sizes.len() as u32;
    for (size, image) in sizes.iter().zip(&images) {
        // 256 is written as 0: the field is one byte.
        let side = if *size >= 256 { 0 } else { *size as u8 };
        file.extend_from_slice(&[side, side, 0, 0]);
        file.extend_from_slice(&1u16.to_le_bytes());
        file.extend_from_slice(&32u16.to_le_bytes());
        file.extend_from_slice(&(image.len() as u32).to_le_bytes());
        file.extend_from_slice(&offset.to_le_bytes());
        offset += image.len() as u32;
    }
    for image in images {
        file.extend_from_slice(&image);
    }
    Ok(file)
}

/// A macOS .icns: typed chunks, each a PNG image, lengths big-endian and counting the header.
fn icns(colour: Colour) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let chunks = [
        (*b"icp4", 16),
        (*b"icp5", 32),
        (*b"icp6", 64),
        (*b"ic07", 128),
        (*b"ic08", 256),
    ];
    let mut body = Vec::new();
    for (kind, size) in chunks {
        let image = png_bytes(colour, size)?;
        body.extend_from_slice(&kind);
        body.extend_from_slice(&(image.len() as u32 + 8).to_be_bytes());
        body.extend_from_slice(&image);
    }
    let mut file = b"icns".to_vec();
    file.extend_from_slice(&(body.len() as u32 + 8).to_be_bytes());
    file.extend_from_slice(&body);
    Ok(file)
}
