//! Starts every background task (sampler, feeds, stream heartbeat) on the shared state.

use std::time::Duration;

use crate::state::AppState;
use crate::tasks::Tasks;

/// Heartbeat comment on the event stream: well under the 100 s after which Cloudflare
/// closes an idle response.
pub const HEARTBEAT: Duration = Duration::from_secs(20);

/// Spawns the background tasks for `state` into `tasks`.
pub fn start(state: &AppState, tasks: &mut Tasks) -> std::io::Result<()> {
    crate::host::sampler::start(state, tasks)?;
    let hub = state.hub.clone();
    tasks.spawn("heartbeat", move |sd| {
        while sd.sleep(HEARTBEAT) {
            hub.heartbeat();
        }
    })?;
    crate::feeds::start(state, tasks)?;
    Ok(())
}
