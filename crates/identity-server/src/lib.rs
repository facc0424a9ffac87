#![doc = include_str!("../README.md")]

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
mod gate;
pub mod hawk;
pub mod health;
pub mod metrics;
pub mod network;
pub mod outage;
pub mod runner;
pub mod serve;
pub mod startup;
pub mod telemetry;

pub use app::Plumbing;
