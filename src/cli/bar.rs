//! The progress bar a person sees on a terminal while a job runs (nothing when stderr is not a
//! terminal, so scripts and logs stay clean).

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use lifeboat::progress::{Observer, Stage};

pub struct Bar {
    bar: Option<ProgressBar>,
    stage: Mutex<Option<Stage>>,
}

impl Bar {
    pub fn new() -> Bar {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:28} [{bar:30}] {percent:>3}%  {bytes}/{total_bytes}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Bar {
            bar,
            stage: Mutex::new(None),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Bar {
    fn progress(&self, stage: Stage, done: u64, total: u64) {
        let Some(bar) = &self.bar else { return };
        if let Ok(mut current) = self.stage.lock()
            && *current != Some(stage)
        {
            *current = Some(stage);
            bar.set_message(stage.label());
        }
        bar.set_length(total);
        bar.set_position(done);
    }

    fn waiting_for_lock(&self) {
        eprintln!("Waiting for another Lifeboat job to finish...");
    }
}
