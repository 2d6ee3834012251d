//! Persistence: RDB save points, SAVE/BGSAVE and the final save at shutdown.

use crate::server::ShutdownRequest;
use crate::shared::Shared;
use std::sync::Arc;

/// The save done on shutdown when save points are configured (or SHUTDOWN SAVE).
pub async fn final_save(_shared: &Arc<Shared>, _req: &ShutdownRequest) {}
