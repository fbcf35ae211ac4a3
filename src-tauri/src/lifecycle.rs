//! What the user can do to the bridge as a whole (start, pause, resume, try the demo, apply saved
//! settings), on top of the supervisor and the profile. Shared by the commands, the tray and `run`.
//!
//! Invariant: every transition goes through [`Profile::plan`] (fresh settings and secrets) and
//! [`Supervisor::switch`], so a swap always starts from what is saved now, never from a stale copy.

use crate::engine::{LaunchError, Mode};
use crate::profile::{Profile, ProfileError, Want, after_save, decide};
use crate::supervisor::{EngineState, Supervisor};

/// Managed state: the supervisor and the profile it starts engines from.
#[derive(Clone)]
pub struct Shell {
    pub supervisor: Supervisor,
    pub profile: Profile,
}

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
}

impl ShellError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Profile(err) => err.code(),
            Self::Launch(err) => err.code(),
        }
    }
}

impl Shell {
    pub fn new(supervisor: Supervisor, profile: Profile) -> Self {
        Self {
            supervisor,
            profile,
        }
    }

    pub fn state(&self) -> EngineState {
        self.supervisor.state()
    }

    /// At launch (`--demo` → demo) and for "Try the demo".
    pub async fn start(&self, want: Want) -> Result<(), ShellError> {
        let plan = self.profile.plan(want).await?;
        self.supervisor.switch(plan).await?;
        Ok(())
    }

    /// "Pause bridge": only a real bridge can be paused.
    pub async fn pause(&self) -> Result<(), ShellError> {
        let state = self.state();
        if state.mode != Mode::Real || state.paused {
            return Ok(());
        }
        self.start(Want::Paused).await
    }

    /// "Resume bridge".
    pub async fn resume(&self) -> Result<(), ShellError> {
        if !self.state().paused {
            return Ok(());
        }
        self.start(Want::Auto).await
    }

    /// After `save_settings` wrote the file and the secrets: applies them without restarting the app.
    /// Returns the mode that runs afterwards.
    pub async fn apply_saved(&self) -> Result<Mode, ShellError> {
        let loaded = self.profile.load().await?;
        let data_dir = self.profile.data_dir.clone();
        let auto = decide(Want::Auto, loaded.clone(), data_dir.clone());
        let paused = decide(Want::Paused, loaded, data_dir);
        let current = self.supervisor.plan();
        if let Some(next) = after_save(self.state(), current.as_ref(), auto, paused) {
            self.supervisor.switch(next).await?;
        }
        Ok(self.state().mode)
    }
}
