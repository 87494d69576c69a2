//! Runs the mock Hero server until Ctrl-C, printing its URL and credentials (for curl, Prism,
//! or another language's client). `HERO_MOCK_DEVIATIONS=1` starts it in its deviant mode
//! (answers that differ from the document, for trying `cargo xtask probe`).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = hero_health::mock::MockHero::builder();
    if std::env::var_os("HERO_MOCK_DEVIATIONS").is_some_and(|v| v == "1") {
        builder = builder.with_deviations();
    }
    let hero = builder.start().await?;
    println!("mock Hero server at {} (x-api-key: {}, x-practice-group-id: 1)", hero.url(), hero.api_key());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
