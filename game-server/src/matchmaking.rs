//! Quick match: pairs players in arrival order.
//!
//! A player who finds nobody waiting opens a public room (seat 0, `queued`) and enters the queue; the
//! next player takes the oldest waiting room out of the queue and joins it, which starts the match.
//! Taking a room out of the queue happens under the registry lock, so two arrivals can never both
//! see an empty queue and wait for each other forever, and a queued room is joined by at most one.

use crate::hub::Hub;
use crate::outbox::Conn;
use crate::protocol::Refusal;
use crate::rooms::{Room, Seat};
use std::sync::Arc;

/// Pairs `conn` with the oldest waiting player, or queues it with `seat` (its name and room slot).
/// Returns its room and seat.
pub fn quick_match(
    hub: &Arc<Hub>,
    conn: &Arc<Conn>,
    seat: Seat,
    start_level: u8,
) -> Result<(Arc<Room>, u8), Refusal> {
    // Bounded: each failed attempt removed one room from the queue.
    while let Some(room) = hub.pop_quick() {
        match room.join(hub, conn, seat.name.clone()) {
            Ok(seat) => return Ok((room, seat)),
            // The waiting player left or was paired between the pop and the join: try the next one.
            Err(r) if r.code == "room_full" || r.code == "room_not_found" => continue,
            Err(r) => {
                hub.requeue(room);
                return Err(r);
            }
        }
    }
    let room = hub.create_room(seat, start_level, true)?;
    Ok((room, 0))
}
