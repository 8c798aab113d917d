//! Writes the tray icon's pictures into icons/: `lifeboat-<colour>-<size>.png` for each state at
//! 16, 24 and 32 px, and `preview.png`, every one of them at four times their size on a light and
//! on a dark panel, for a reviewer to look at.
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
