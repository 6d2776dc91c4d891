//! `fault-proxy --listen 127.0.0.1:14566 --upstream http://127.0.0.1:4566`: forwards every
//! request to the upstream (the emulator) and injects the faults of the plan set through
//! `PUT /_faults` on the listening port. scripts/emulator.sh starts it when
//! `FAULT_PROXY_PORT` is set; see docs/local-development.md.

use anyhow::Context as _;

fn argument(args: &[String], name: &str) -> anyhow::Result<String> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
        .with_context(|| format!("usage: fault-proxy --listen <addr:port> --upstream <http://host:port> (missing {name})"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let listen: std::net::SocketAddr = argument(&args, "--listen")?
        .parse()
        .context("--listen must be an address such as 127.0.0.1:14566")?;
    let upstream = argument(&args, "--upstream")?;
    let proxy = fault_proxy::Proxy::new(&upstream)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    eprintln!(
        "fault-proxy: {listen} -> {upstream}; control: http://{listen}{}",
        fault_proxy::CONTROL_PATH
    );
    proxy.serve(listener).await
}
