//! `--badges DIR`: compatibility badges in the flat shields.io style, as SVG, and as shields.io
//! endpoint JSON (`{"schemaVersion":1,"label":…,"message":…,"color":…}`).
//!
//! - one per version: `python 3.11 | 48/50`, the examples that pass on 3.11 of those that
//!   claim it (see [`Report::tally`]);
//! - one overall: `examples | passing` when every example keeps its claim, else the versions
//!   on which every example passes (`examples | 3.10–3.12`), else `examples | failing`.
//!
//! Colours by pass rate: 100% brightgreen, ≥ 90% green, ≥ 75% yellowgreen, ≥ 50% yellow,
//! ≥ 25% orange, below that red; lightgrey when there is nothing to count.
//!
//! Text widths come from a table of Verdana 11px advance widths, as shields computes them, so
//! no font is needed; `textLength` makes every renderer fit the text to that width.

use serde::Serialize;

use super::{version_span, Report};

/// A shields colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    BrightGreen,
    Green,
    YellowGreen,
    Yellow,
    Orange,
    Red,
    LightGrey,
}

impl Color {
    /// The shields name, as used in endpoint JSON.
    pub fn name(self) -> &'static str {
        match self {
            Color::BrightGreen => "brightgreen",
            Color::Green => "green",
            Color::YellowGreen => "yellowgreen",
            Color::Yellow => "yellow",
            Color::Orange => "orange",
            Color::Red => "red",
            Color::LightGrey => "lightgrey",
        }
    }

    /// The shields hex value of the name.
    pub(crate) fn hex(self) -> &'static str {
        match self {
            Color::BrightGreen => "#4c1",
            Color::Green => "#97ca00",
            Color::YellowGreen => "#a4a61d",
            Color::Yellow => "#dfb317",
            Color::Orange => "#fe7d37",
            Color::Red => "#e05d44",
            Color::LightGrey => "#9f9f9f",
        }
    }

    /// The colour of `passed` out of `total` (the thresholds in the module doc).
    pub(crate) fn for_rate(passed: usize, total: usize) -> Color {
        if total == 0 {
            return Color::LightGrey;
        }
        if passed >= total {
            return Color::BrightGreen;
        }
        // Integer per-mille, so that 9/10 is exactly 90%.
        let rate = passed * 1000 / total;
        match rate {
            900.. => Color::Green,
            750.. => Color::YellowGreen,
            500.. => Color::Yellow,
            250.. => Color::Orange,
            _ => Color::Red,
        }
    }
}

/// One badge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// The file name without extension: `examples`, `python-3.11`.
    pub name: String,
    pub label: String,
    pub message: String,
    pub color: Color,
}

/// The overall badge, then one per version of the matrix. Their texts are docmatrix's own
/// (counts and versions), never a text of the report.
pub fn badges(r: &Report) -> Vec<Badge> {
    let s = &r.summary;
    let ran = s.ok + s.failed;
    let (message, color) = if s.examples == 0 || ran == 0 {
        ("no examples".to_string(), Color::LightGrey)
    } else if r.exit_code() == 0 {
        ("passing".to_string(), Color::BrightGreen)
    } else {
        let fully = r.fully_passing();
        if fully.is_empty() {
            ("failing".to_string(), Color::Red)
        } else {
            (
                version_span(&r.versions, &fully),
                Color::for_rate(s.ok, ran).min_yellow(),
            )
        }
    };
    let mut out = vec![Badge {
        name: "examples".into(),
        label: "examples".into(),
        message,
        color,
    }];
    for v in &r.versions {
        let t = r.tally(*v);
        let (message, color) = if t.claimed == 0 {
            ("no examples".to_string(), Color::LightGrey)
        } else if t.unavailable == t.claimed {
            ("no interpreter".to_string(), Color::LightGrey)
        } else {
            (
                format!("{}/{}", t.passed, t.claimed),
                Color::for_rate(t.passed, t.claimed),
            )
        };
        out.push(Badge {
            name: format!("python-{v}"),
            label: format!("python {v}"),
            message,
            color,
        });
    }
    out
}

impl Color {
    /// A badge that names the versions that work is never green: some example fails.
    fn min_yellow(self) -> Color {
        match self {
            Color::BrightGreen | Color::Green | Color::YellowGreen => Color::Yellow,
            c => c,
        }
    }
}

/// Verdana 11px advance widths of ASCII 32..=126, in pixels (Verdana's 2048-unit widths × 11 /
/// 2048, as shields' badge-maker measures text).
const VERDANA_11: [f64; 95] = [
    3.87, 4.33, 5.05, 9.00, 6.99, 11.84, 7.99, 2.95, 4.99, 4.99, 6.99, 9.00, 4.00, 4.99, 4.00,
    4.99, // ' ' to '/'
    6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, // '0' to '9'
    4.99, 4.99, 9.00, 9.00, 9.00, 6.00, 11.00, // ':' to '@'
    7.52, 7.55, 7.68, 8.47, 6.95, 6.33, 8.52, 8.27, 4.63, 5.00, 7.62, 6.13, 9.27, 8.23, 8.66, 6.63,
    8.66, 7.65, 7.52, 6.78, 8.05, 7.52, 10.88, 7.54, 6.77, 7.55, // 'A' to 'Z'
    4.99, 4.99, 4.99, 9.00, 6.99, 6.99, // '[' to '`'
    6.60, 6.85, 5.73, 6.85, 6.55, 3.87, 6.85, 6.96, 3.02, 3.79, 6.51, 3.02, 10.70, 6.96, 6.68,
    6.85, 6.85, 4.69, 5.73, 4.33, 6.96, 6.51, 9.00, 6.51, 6.51, 5.78, // 'a' to 'z'
    6.98, 4.99, 6.98, 9.00, // '{' to '~'
];

/// The width of `s` in Verdana 11px: ASCII from the table, `–`/`—` and wide (CJK) characters
/// by their class, anything else as a digit.
pub(crate) fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| match c as u32 {
            32..=126 => VERDANA_11[(c as u32 - 32) as usize],
            0x2013 => 6.99,  // – en dash
            0x2014 => 11.00, // — em dash
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFF00..=0xFF60 => 11.0,
            _ => 6.99,
        })
        .sum()
}

/// Escapes text for the SVG (the HTML report's escaping is valid XML too).
fn xml(s: &str) -> String {
    super::safe::esc(s)
}

/// The badge as a flat shields-style SVG (20px high).
pub fn svg(b: &Badge) -> String {
    let (lt, mt) = (text_width(&b.label), text_width(&b.message));
    // 5px of padding each side of each text, as shields does.
    let lw = lt.round() as u32 + 10;
    let mw = mt.round() as u32 + 10;
    let w = lw + mw;
    // Text is drawn at 10× scale (font-size 110, scale(.1)) for sub-pixel positioning.
    let (lx, mx) = (lw * 5, lw * 10 + mw * 5);
    let (ll, ml) = ((lt * 10.0).round() as u32, (mt * 10.0).round() as u32);
    let (label, message) = (xml(&b.label), xml(&b.message));
    let color = b.color.hex();
    // Ids of its own, so that several badges can be inlined in one HTML page.
    let id: String = b
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{label}: {message}"><title>{label}: {message}</title><linearGradient id="s-{id}" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r-{id}"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r-{id})"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{mw}" height="20" fill="{color}"/><rect width="{w}" height="20" fill="url(#s-{id})"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110"><text aria-hidden="true" x="{lx}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{ll}">{label}</text><text x="{lx}" y="140" transform="scale(.1)" fill="#fff" textLength="{ll}">{label}</text><text aria-hidden="true" x="{mx}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{ml}">{message}</text><text x="{mx}" y="140" transform="scale(.1)" fill="#fff" textLength="{ml}">{message}</text></g></svg>
"##
    );
    super::safe::inert_xml(svg)
}

/// The badge as shields.io endpoint JSON (`https://img.shields.io/endpoint?url=…`).
pub fn endpoint(b: &Badge) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Endpoint<'a> {
        schema_version: u32,
        label: &'a str,
        message: &'a str,
        color: &'a str,
    }
    let doc = Endpoint {
        schema_version: 1,
        label: &b.label,
        message: &b.message,
        color: b.color.name(),
    };
    let mut s = serde_json::to_string(&doc).unwrap_or_default();
    s.push('\n');
    super::safe::inert_json(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_by_rate() {
        assert_eq!(Color::for_rate(50, 50), Color::BrightGreen);
        assert_eq!(Color::for_rate(9, 10), Color::Green);
        assert_eq!(Color::for_rate(48, 50), Color::Green);
        assert_eq!(Color::for_rate(3, 4), Color::YellowGreen);
        assert_eq!(Color::for_rate(1, 2), Color::Yellow);
        assert_eq!(Color::for_rate(1, 4), Color::Orange);
        assert_eq!(Color::for_rate(1, 5), Color::Red);
        assert_eq!(Color::for_rate(0, 0), Color::LightGrey);
    }

    #[test]
    fn widths_follow_verdana() {
        assert!((text_width("0") - 6.99).abs() < 1e-9);
        assert_eq!(text_width("python 3.11").round(), 67.0);
        assert!(text_width("mmm") > text_width("iii") * 3.0);
        let b = Badge {
            name: "x".into(),
            label: "python 3.11".into(),
            message: "48/50".into(),
            color: Color::Green,
        };
        let s = svg(&b);
        assert!(s.starts_with("<svg ") && s.contains(">48/50</text>"));
        assert!(endpoint(&b).contains(r#""color":"green""#));
    }
}
