//! The `rtpsynth` command-line tool (DESIGN.md section 5.2): a thin layer
//! of option parsing and wiring over the library's safe Rust core.

mod capture;
mod cli;
mod codec;
mod dtmf;
mod fail;
mod load;
mod recv;
mod rtcp;
mod send;
mod transport;
mod util;

use clap::Parser;

fn main() {
    // Never a panic trace: one line, exit status 1.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("rtpsynth: internal error: {what}{at}");
        std::process::exit(1);
    }));
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        // --help and --version print and exit 0; usage errors exit 2.
        Err(e) => e.exit(),
    };
    let result = match cli.cmd {
        cli::Command::Send(a) => send::run(a),
        cli::Command::Recv(a) => recv::run(a),
        cli::Command::Load(a) => load::run(a),
    };
    if let Err(f) = result {
        eprintln!("rtpsynth: {}", f.msg);
        if f.status == 2 {
            eprintln!("For more information, try '--help'.");
        }
        std::process::exit(f.status);
    }
}
