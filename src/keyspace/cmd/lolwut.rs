//! LOLWUT [VERSION v] [args...]: computer art and the version, as Redis 7.0 draws it.
//!
//! Version 5 draws Georg Nees's "Schotter" (rows of squares more and more rotated and
//! displaced) in Braille characters (2x4 pixels each); version 6 a city skyline in terminal
//! colours; any other version (the default, 7) just the version line.

use crate::keyspace::{Ctx, Keyspace};
use crate::rdb::writer::REPORTED_REDIS_VERSION as VERSION;
use crate::util::num;
use bytes::Bytes;
use rand::Rng;

pub fn lolwut(_ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let mut args = &a[1..];
    let mut version = 7u64;
    if args.len() >= 2 && args[0].eq_ignore_ascii_case(b"version") {
        let Some(v) = int_arg(ctx, &args[1]) else { return };
        // Redis prints the number as unsigned and looks at its first digits.
        version = v as u32 as u64;
        args = &args[2..];
    }
    let text = match version {
        5 => schotter(ctx, args),
        6 => skyline(ctx, args),
        _ => Some(format!("Redis ver. {}\n", VERSION)),
    };
    if let Some(text) = text {
        ctx.out.verbatim(&text);
    }
}

fn int_arg(ctx: &mut Ctx, arg: &[u8]) -> Option<i64> {
    let v = num::parse_i64(arg);
    if v.is_none() {
        ctx.error("ERR value is not an integer or out of range");
    }
    v
}

/// The optional numeric arguments, each clamped to `1..=max` (defaults where absent).
fn sizes<const N: usize>(ctx: &mut Ctx, args: &[Bytes], defaults: [i64; N], max: [i64; N]) -> Option<[i64; N]> {
    let mut out = defaults;
    for (i, arg) in args.iter().take(N).enumerate() {
        out[i] = int_arg(ctx, arg)?;
    }
    for (v, m) in out.iter_mut().zip(max) {
        *v = (*v).clamp(1, m);
    }
    Some(out)
}

/// A canvas of small colour numbers; pixels outside read as 0 and are not drawn.
struct Canvas {
    width: i32,
    height: i32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: i32, height: i32, background: u8) -> Canvas {
        Canvas { width, height, pixels: vec![background; (width.max(0) as usize) * (height.max(0) as usize)] }
    }

    fn inside(&self, x: i32, y: i32) -> bool {
        x >= 0 && y >= 0 && x < self.width && y < self.height
    }

    fn set(&mut self, x: i32, y: i32, color: u8) {
        if self.inside(x, y) {
            self.pixels[(x + y * self.width) as usize] = color;
        }
    }

    fn get(&self, x: i32, y: i32) -> u8 {
        if self.inside(x, y) {
            self.pixels[(x + y * self.width) as usize]
        } else {
            0
        }
    }

    /// Bresenham's line, both ends included.
    fn line(&mut self, (mut x, mut y): (i32, i32), (x2, y2): (i32, i32), color: u8) {
        let (dx, dy) = ((x2 - x).abs(), (y2 - y).abs());
        let (sx, sy) = (if x < x2 { 1 } else { -1 }, if y < y2 { 1 } else { -1 });
        let mut err = dx - dy;
        loop {
            self.set(x, y, color);
            if x == x2 && y == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x += sx;
            }
            if e2 < dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// A square of side `side` centred on (x, y), turned by `angle` radians.
    fn square(&mut self, x: i32, y: i32, side: f32, angle: f32, color: u8) {
        // The corners lie on a circle whose radius is half the diagonal.
        let radius = (side / std::f32::consts::SQRT_2).round() as f64;
        let corner = |j: i32| {
            let k = (std::f32::consts::FRAC_PI_4 + angle + j as f32 * std::f32::consts::FRAC_PI_2) as f64;
            ((k.sin() * radius + x as f64).round() as i32, (k.cos() * radius + y as f64).round() as i32)
        };
        for j in 0..4 {
            self.line(corner(j), corner((j + 1) % 4), color);
        }
    }
}

/// LOLWUT VERSION 5 [columns [squares-per-row [squares-per-column]]].
fn schotter(ctx: &mut Ctx, args: &[Bytes]) -> Option<String> {
    let [cols, per_row, per_col] = sizes(ctx, args, [66, 8, 12], [1000, 200, 200])?;
    let width = (cols * 2) as i32;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32) as i32 + padding * 2;
    let mut canvas = Canvas::new(width, height, 0);
    let mut rng = rand::thread_rng();
    for y in 0..per_col {
        for x in 0..per_row {
            let mut sx = (x as f32 * side + side / 2.0) as i32 + padding;
            let mut sy = (y as f32 * side + side / 2.0) as i32 + padding;
            let mut angle = 0.0;
            // From the third row on, each square turns and moves a little more.
            if y > 1 {
                let mut jitter = [0f32; 3];
                for r in jitter.iter_mut() {
                    *r = rng.gen::<f32>() / per_col as f32 * y as f32;
                }
                for r in jitter.iter_mut() {
                    if rng.gen::<bool>() {
                        *r = -*r;
                    }
                }
                let [r1, r2, r3] = jitter;
                angle = r1;
                sx = (sx as f32 + r2 * side / 3.0) as i32;
                sy = (sy as f32 + r3 * side / 3.0) as i32;
            }
            canvas.square(sx, sy, side, angle, 1);
        }
    }
    let mut text = braille(&canvas);
    text.push_str(&format!("\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {}\n", VERSION));
    Some(text)
}

/// The canvas in Braille: each character shows 2x4 pixels (U+2800 plus one bit per dot).
fn braille(canvas: &Canvas) -> String {
    // Dot bits by (dx, dy) as the Braille block numbers them.
    const DOTS: [(i32, i32, u32); 8] = [(0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 0, 3), (1, 1, 4), (1, 2, 5), (0, 3, 6), (1, 3, 7)];
    let mut text = String::new();
    for y in (0..canvas.height).step_by(4) {
        for x in (0..canvas.width).step_by(2) {
            let bits = DOTS.iter().filter(|(dx, dy, _)| canvas.get(x + dx, y + dy) != 0).fold(0, |b, (_, _, bit)| b | 1 << bit);
            text.push(char::from_u32(0x2800 + bits).unwrap_or(' '));
        }
        // As Redis: a row break after every row of characters but one that would start on
        // the canvas's last pixel row.
        if y != canvas.height - 1 {
            text.push('\n');
        }
    }
    text
}

/// LOLWUT VERSION 6 [columns [rows]].
fn skyline(ctx: &mut Ctx, args: &[Bytes]) -> Option<String> {
    let [cols, rows] = sizes(ctx, args, [80, 20], [1000, 1000])?;
    let mut canvas = Canvas::new(cols as i32, rows as i32, 3);
    draw_skyline(&mut canvas, &mut rand::thread_rng());
    let mut text = String::new();
    for y in 0..canvas.height {
        for x in 0..canvas.width {
            // Foreground and background both set: terminals agree better.
            let escape = match canvas.get(x, y) {
                1 => "0;90;100m",
                2 => "0;37;47m",
                3 => "0;97;107m",
                _ => "0;30;40m",
            };
            text.push_str("\x1b[");
            text.push_str(escape);
            text.push_str(" \x1b[0m");
        }
        if y != canvas.height - 1 {
            text.push('\n');
        }
    }
    text.push_str(&format!(
        "\nDedicated to the 8 bit game developers of past and present.\nOriginal 8 bit image from Plaguemon by hikikomori. Redis ver. {}\n",
        VERSION
    ));
    Some(text)
}

struct Building {
    xoff: i32,
    width: i32,
    height: i32,
    windows: bool,
    color: u8,
}

/// Two rows of grey buildings (the lighter behind), then black ones with lit windows.
fn draw_skyline(canvas: &mut Canvas, rng: &mut impl Rng) {
    let h = canvas.height;
    for color in [2u8, 1] {
        let mut offset = -10;
        while offset < canvas.width {
            offset += rng.gen_range(0..8);
            let height = if color == 2 { h / 2 + rng.gen_range(0..h) / 2 } else { h / 2 + rng.gen_range(0..h) / 3 };
            let b = Building { xoff: offset, width: 10 + rng.gen_range(0..9), height, windows: false, color };
            draw_building(canvas, &b, rng);
            offset += if color == 2 { b.width / 2 } else { b.width + 1 };
        }
    }
    let mut offset = -10;
    while offset < canvas.width {
        offset += rng.gen_range(0..8);
        let mut width = 5 + rng.gen_range(0..14);
        if width % 4 != 0 {
            width += width % 3;
        }
        let b = Building { xoff: offset, width, height: h / 3 + rng.gen_range(0..h) / 2, windows: true, color: 0 };
        draw_building(canvas, &b, rng);
        offset += b.width + 5;
    }
}

fn draw_building(canvas: &mut Canvas, b: &Building, rng: &mut impl Rng) {
    let bottom = canvas.height - 1;
    let top = bottom - b.height + 1;
    for y in (top..=bottom).rev() {
        for x in b.xoff..b.xoff + b.width {
            // The roof is two pixels narrower on each side.
            if y == top && (x <= b.xoff + 1 || x >= b.xoff + b.width - 2) {
                continue;
            }
            let mut color = b.color;
            let inner = x > b.xoff + 1 && x < b.xoff + b.width - 2 && y > top + 1 && y < bottom - 1;
            if b.windows && inner {
                let (relx, rely) = (x - (b.xoff + 1), y - (top + 1));
                // Windows two pixels wide (a character is taller than wide), on every other row.
                if (relx / 2) % 2 != 0 && rely % 2 != 0 {
                    color = if relx % 2 != 0 {
                        canvas.get(x - 1, y)
                    } else {
                        loop {
                            let c = rng.gen_range(1..=2);
                            if c != b.color {
                                break c;
                            }
                        }
                    };
                }
            }
            canvas.set(x, y, color);
        }
    }
}
