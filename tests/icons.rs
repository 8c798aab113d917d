//! The icons checked in under icons/ are the ones the tray draws: each PNG decodes to exactly
//! the pixels the agent renders (regenerate them with `cargo run --example icons`), and the
//! preview a reviewer looks at is there.

#[path = "../src/agent/icons.rs"]
#[allow(dead_code)]
mod icons;

use std::fs::File;
use std::path::Path;

use icons::Colour;

fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = File::open(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("pixels");
    assert_eq!(info.color_type, png::ColorType::Rgba, "{}", path.display());
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

#[test]
fn the_checked_in_icons_are_what_the_tray_draws() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("icons");
    let app_icon = [48, 64, 128, 256].map(|size| (Colour::Blue, size));
    let tray_icons = Colour::ALL
        .into_iter()
        .flat_map(|colour| [16, 24, 32].map(|size| (colour, size)));
    // The tray's icons, and the app's icon at the larger sizes the Linux package installs.
    for (colour, size) in tray_icons.chain(app_icon) {
        let path = folder.join(format!("lifeboat-{}-{size}.png", colour.name()));
        let (width, height, pixels) = decode(&path);
        assert_eq!((width, height), (size, size));
        assert!(
            pixels == icons::render(colour, size),
            "{} differs from the drawing code: run `cargo run --example icons`",
            path.display()
        );
    }
    for colour in Colour::ALL {
        let ico = std::fs::read(folder.join(format!("lifeboat-{}.ico", colour.name())))
            .expect("the .ico for the Windows installer");
        assert_eq!(
            &ico[..6],
            &[0, 0, 1, 0, 5, 0],
            "an icon directory of five images"
        );
        let icns = std::fs::read(folder.join(format!("lifeboat-{}.icns", colour.name())))
            .expect("the .icns for the macOS bundle");
        assert_eq!(&icns[..4], b"icns");
        assert_eq!(
            u32::from_be_bytes([icns[4], icns[5], icns[6], icns[7]]) as usize,
            icns.len()
        );
    }
    let (width, height, _) = decode(&folder.join("preview.png"));
    assert!(
        width > 4 * 32 * 12 && height > 2 * 4 * 32,
        "the preview shows every icon zoomed"
    );
}
