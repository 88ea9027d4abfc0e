//! Render collector: deploys, events and logs, from the API or from saved files.
