//! The tray icon's pictures: a lifebuoy ring in the colour of the state, drawn in code so the
//! same pixels serve the tray at run time and the PNGs in icons/ (written by
//! `cargo run --example icons`).
//!
//! At 16 px a picture must read by colour and shape alone: a thick ring, four white bands, and a
//! dark outline so it holds on light and dark panels alike.

/// The colour of the icon, from health and from whether a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Colour {
    Green,
    Amber,
    Red,
    Blue,
}

// `ALL` and `name` serve examples/icons.rs (which includes this file) and the tests.
#[allow(dead_code)]
impl Colour {
    pub const ALL: [Colour; 4] = [Colour::Green, Colour::Amber, Colour::Red, Colour::Blue];

    pub fn name(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Amber => "amber",
            Colour::Red => "red",
            Colour::Blue => "blue",
        }
    }

    /// The ring's colour (sRGB).
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Colour::Green => [0x2e, 0xa0, 0x43],
            Colour::Amber => [0xf0, 0xa0, 0x20],
            Colour::Red => [0xd9, 0x2d, 0x20],
            Colour::Blue => [0x1f, 0x6f, 0xeb],
        }
    }
}

/// Straight (not premultiplied) RGBA pixels of the icon, `size` by `size`, row by row.
pub fn render(colour: Colour, size: u32) -> Vec<u8> {
    // 4 x 4 samples per pixel smooth the ring's edges.
    const SAMPLES: u32 = 4;
    let centre = size as f32 / 2.0;
    let outer = size as f32 / 2.0 - 0.5;
    let inner = outer * 0.45;
    let outline = (size as f32 / 16.0).max(1.0);
    let [red, green, blue] = colour.rgb();
    let mut pixels = Vec::with_capacity((size * size * 4) as usize);
    for row in 0..size {
        for column in 0..size {
            // Sum of colour (weighted by coverage) and of coverage over the samples.
            let mut sum = [0f32; 3];
            let mut covered = 0f32;
            for sample_row in 0..SAMPLES {
                for sample_column in 0..SAMPLES {
                    let x = column as f32 + (sample_column as f32 + 0.5) / SAMPLES as f32 - centre;
                    let y = row as f32 + (sample_row as f32 + 0.5) / SAMPLES as f32 - centre;
                    let radius = (x * x + y * y).sqrt();
                    if radius > outer || radius < inner {
                        continue;
                    }
                    let shade = if radius > outer - outline || radius < inner + outline {
                        [0x20, 0x20, 0x20]
                    } else if is_band(x, y) {
                        [0xff, 0xff, 0xff]
                    } else {
                        [red, green, blue]
                    };
                    for (total, part) in sum.iter_mut().zip(shade) {
                        *total += f32::from(part);
                    }
                    covered += 1.0;
                }
            }
            if covered == 0.0 {
                pixels.extend_from_slice(&[0, 0, 0, 0]);
            } else {
                for total in sum {
                    pixels.push((total / covered).round() as u8);
                }
                let alpha = covered / (SAMPLES * SAMPLES) as f32 * 255.0;
                pixels.push(alpha.round() as u8);
            }
        }
    }
    pixels
}

/// The four white bands of a lifebuoy, on the diagonals.
fn is_band(x: f32, y: f32) -> bool {
    let angle = y.atan2(x).to_degrees().rem_euclid(90.0);
    (angle - 45.0).abs() < 12.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most common opaque colour of a picture.
    fn dominant(pixels: &[u8]) -> [u8; 3] {
        let mut counts = std::collections::HashMap::new();
        for pixel in pixels.chunks(4).filter(|pixel| pixel[3] == 255) {
            *counts.entry([pixel[0], pixel[1], pixel[2]]).or_insert(0) += 1;
        }
        counts
            .into_iter()
            .max_by_key(|(_, count)| *count)
            .map(|(colour, _)| colour)
            .unwrap_or_default()
    }

    #[test]
    fn each_state_reads_as_its_colour_at_every_size() {
        for size in [16, 24, 32] {
            for colour in Colour::ALL {
                let pixels = render(colour, size);
                assert_eq!(pixels.len(), (size * size * 4) as usize);
                assert_eq!(dominant(&pixels), colour.rgb(), "{colour:?} at {size} px");
                // The corners are transparent: the ring is round.
                assert_eq!(pixels[3], 0);
            }
        }
    }
}
