//! Demo mode: an embedded DingTalk simulator and a scripted trickle of realistic messages, so a newcomer
//! without a DingTalk account sees the whole pipeline live within seconds.

use std::time::Duration;

use dingbridge_core::Credentials;
use dingbridge_core::config::Config;
use dingtalk_sim::{InjectContent, InjectMessage, RichItem, Sim, SimConfig};
use rand::Rng;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

pub const DEMO_CLIENT_ID: &str = "demo-client-id";
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";

/// The settings every demo runs with (`dingbridged demo` and the desktop app's demo alike), over `base`:
/// DingTalk is the embedded simulator, and the simulator's made-up people and groups may all talk to the
/// demo agent. Without the `"*"` allow-lists the bridge would refuse every scripted message.
pub fn demo_config(sim: &Sim, base: Config) -> Config {
    let mut config = base;
    config.dingtalk.api_base = sim.base_url();
    config.dingtalk.oapi_base = sim.base_url();
    config.dingtalk.client_id = Some(DEMO_CLIENT_ID.to_owned());
    config.access.allowed_staff_ids = vec!["*".into()];
    config.access.allowed_groups = vec!["*".into()];
    config
}

/// The simulator's demo credentials (not a secret: the simulator accepts only them).
pub fn demo_credentials() -> Credentials {
    Credentials {
        client_id: DEMO_CLIENT_ID.to_owned(),
        client_secret: SecretString::from(DEMO_CLIENT_SECRET),
    }
}

pub async fn start_simulator() -> anyhow::Result<Sim> {
    let config = SimConfig::default()
        .with_credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .with_ping_interval(Some(Duration::from_secs(10)))
        .with_keepalive_interval(Some(Duration::from_secs(25)))
        // The trickle never approaches it, but keep the real limit visible.
        .with_webhook_rate_per_min(20);
    Ok(Sim::start(config).await?)
}

/// People and groups the demo conversation comes from.
const PEOPLE: [(&str, &str); 3] = [
    ("manager4220", "王小明"),
    ("dev0193", "Alice Chen"),
    ("qa7781", "李娜"),
];
const GROUPS: [(&str, &str); 2] = [
    ("cidDemoBackendTeam==", "Backend team"),
    ("cidDemoRelease==", "发布群 Release"),
];
const LINES: [&str; 10] = [
    "run the tests and tell me what failed",
    "帮我看一下昨天的构建为什么失败了",
    "summarise the open PRs for the release",
    "what changed in the auth module this week?",
    "请把部署文档更新一下",
    "is the staging deploy green?",
    "rename `UserStore` to `AccountStore` across the repo",
    "写一个单元测试覆盖这个边界情况",
    "explain the flaky test in ci/integration",
    "how many open tasks are left in src/?",
];

fn scripted_message(step: usize, rng: &mut impl Rng) -> InjectMessage {
    let line = LINES[rng.random_range(0..LINES.len())];
    let (staff, nick) = PEOPLE[rng.random_range(0..PEOPLE.len())];
    let message = if step % 3 == 2 {
        let (cid, title) = GROUPS[rng.random_range(0..GROUPS.len())];
        InjectMessage::text_group(cid, title, staff, nick, line)
    } else {
        InjectMessage::text_1to1(staff, nick, line)
    };
    match step % 11 {
        5 => message.with_content(InjectContent::RichText(vec![
            RichItem::Text("see the screenshot: ".into()),
            RichItem::Picture,
            RichItem::Text(line.into()),
        ])),
        9 => message.with_content(InjectContent::Audio {
            recognition: "语音：帮我重启一下测试环境".into(),
            duration_ms: 3_200,
        }),
        _ => message,
    }
}

/// Injects a message every 0.6–2.5 s until cancelled (the first one at once).
pub async fn trickle(sim: Sim, cancel: CancellationToken) {
    let mut step = 0usize;
    loop {
        let (message, pause) = {
            let mut rng = rand::rng();
            (
                scripted_message(step, &mut rng),
                Duration::from_millis(rng.random_range(600..2_500)),
            )
        };
        sim.inject(message);
        step += 1;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
