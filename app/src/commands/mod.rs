//! One module per subcommand, and what they share: opening the data
//! directory and building the one app every gateway serves.

pub mod cgi;
pub mod fastcgi;
pub mod init;
pub mod serve;

use std::sync::Arc;

use anyhow::Context;
use gateway::{App, GatewayConfig};
use themes::Themes;

use crate::cli::GlobalOptions;
use crate::config::{parse_mount, Settings};
use crate::datadir::DataDir;
use crate::wiki::page_name::PageName;
use crate::wiki::{Wiki, WikiSettings};

/// Settings and data directory, resolved once per process.
pub struct Setup {
    pub data: DataDir,
    pub settings: Settings,
}

impl Setup {
    /// Finds and creates the data directory and merges the settings.
    pub fn new(
        global: &GlobalOptions,
        listen: Option<&str>,
        fastcgi_listen: Option<&str>,
    ) -> anyhow::Result<Setup> {
        let data = DataDir::locate(global.data.as_deref());
        data.create()?;
        let mut settings = Settings::merge(global, listen, fastcgi_listen, data.settings()?);
        if let Some(mount) = &settings.mount {
            settings.mount = Some(parse_mount(mount)?);
        }
        Ok(Setup { data, settings })
    }

    /// What every adapter is told.
    pub fn gateway_config(&self) -> GatewayConfig {
        GatewayConfig {
            max_body_bytes: self.settings.max_body_bytes,
            mount_override: self.settings.mount.clone(),
        }
    }

    /// The wiki, wrapped in the middleware stack: the one app every gateway
    /// serves.
    pub fn app(&self) -> anyhow::Result<Arc<dyn App>> {
        let storage = Arc::new(self.data.open_storage()?);
        let themes =
            Themes::new(self.data.themes_dir().as_deref()).context("could not load the themes")?;
        let page_setting = |value: &str, key: &str| {
            PageName::parse(value)
                .with_context(|| format!("the {key} setting {value:?} is not a valid page name"))
        };
        let wiki = Wiki::new(
            storage,
            themes,
            WikiSettings {
                site_name: self.settings.site_name.clone(),
                front_page: page_setting(&self.settings.front_page, "front_page")?,
                help_page: page_setting(&self.settings.help_page, "help_page")?,
            },
        );
        Ok(Arc::new(gateway::middleware::standard(
            wiki,
            self.settings.debug,
        )))
    }
}
