//! Runs the mock Hero server until Ctrl-C, printing its URL and credentials (for curl, Prism,
//! or another language's client). `HERO_MOCK_START=2026-10-23T06:00:00Z` starts its clock (and lays its diary out) at that
//! instant instead of now, for a test in another language that needs a particular time.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = hero_health::mock::MockHero::builder();
    if let Ok(start) = std::env::var("HERO_MOCK_START") {
        let start = start.parse().map_err(|e| format!("HERO_MOCK_START must be an RFC 3339 instant such as 2026-10-23T06:00:00Z ({e})"))?;
        builder = builder.with_start(start);
    }
    let hero = builder.start().await?;
    println!("mock Hero server at {} (x-api-key: {}, x-practice-group-id: 1), its clock at {}", hero.url(), hero.api_key(), hero.now());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
