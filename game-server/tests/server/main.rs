//! Integration tests over real sockets (port 0) and a real SQLite file or real PostgreSQL servers. One binary, one module per
//! area; `process` runs the built binary and sends it real signals.

mod bad_input;
mod clients;
mod differential;
mod hardening;
mod pages;
mod pg;
mod player;
mod postgres;
mod process;
mod rooms;
mod scores;
mod support;
mod vectors;
mod verify;
mod websocket;
