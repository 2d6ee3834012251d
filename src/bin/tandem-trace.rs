//! `tandem-trace diagram [options] [LOG...]`: trace lines of tandem logs to a mermaid sequence
//! diagram (see `tandem::tracediag`).

use std::io::Write;

use tandem::tracediag::cli;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(&args, &mut std::io::stdin().lock()) {
        Ok(out) => {
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
        }
        Err(e) => {
            eprintln!("tandem-trace: {e}\n\n{}", cli::USAGE);
            std::process::exit(2);
        }
    }
}
