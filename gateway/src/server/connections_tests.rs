use std::net::IpAddr;

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().expect("address")
}

#[test]
fn ipv4_counts_per_address_mapped_or_not_and_ipv6_per_64() {
    assert_eq!(address_key(ip("192.0.2.7")), ip("192.0.2.7"));
    assert_eq!(address_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    assert_eq!(
        address_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
        ip("2001:db8:1:2::")
    );
    assert_ne!(
        address_key(ip("2001:db8:1:2::1")),
        address_key(ip("2001:db8:1:3::1"))
    );
}

#[test]
fn silent_connections_are_capped_per_address_until_they_speak_or_close() {
    let connections = Connections::new(100, 2);
    let a = ip("192.0.2.1");
    let first = connections.admit(a).expect("first");
    let second = connections.admit(a).expect("second");
    assert_eq!(connections.admit(a).err(), Some(Refusal::PerIpSilent));
    // Another address has its own count.
    let _other = connections.admit(ip("192.0.2.2")).expect("other address");
    // Speaking (twice: counted once) frees one place, closing another.
    first.1.spoke();
    first.1.spoke();
    let third = connections.admit(a).expect("after a request");
    assert_eq!(connections.admit(a).err(), Some(Refusal::PerIpSilent));
    drop(second);
    let _fourth = connections.admit(a).expect("after a close");
    // A connection that spoke and then closes does not free a silent place twice.
    drop(first);
    assert_eq!(connections.admit(a).err(), Some(Refusal::PerIpSilent));
    drop(third);
    assert_eq!(connections.open.load(Ordering::Relaxed), 2);
}

#[test]
fn at_the_cap_the_oldest_silent_connection_is_evicted_and_without_one_a_new_one_is_refused() {
    let connections = Connections::new(3, 0);
    let a = ip("192.0.2.1");
    let mut held: Vec<_> = (0..3)
        .map(|_| connections.admit(a).expect("under the cap"))
        .collect();
    // The fourth evicts the oldest silent one (its task is told and drops it).
    let evicted = held[0].1.eviction();
    let fourth = connections.admit(a).expect("admitted by evicting");
    assert!(
        connections
            .queue
            .lock()
            .expect("queue lock")
            .get(&held[0].1.seq)
            .is_none()
    );
    let told = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(1), evicted.wait())
                .await
                .is_ok()
        });
    assert!(told, "the oldest silent connection is told to close");
    // Connections that spoke are never evicted: with none silent, a new one is refused.
    for (_, silent) in &held[1..] {
        silent.spoke();
    }
    fourth.1.spoke();
    // The evicted connection's task drops it.
    drop(held.remove(0));
    assert_eq!(connections.open.load(Ordering::Relaxed), 3);
    assert_eq!(connections.admit(a).err(), Some(Refusal::MaxConnections));
    assert!(connections.queue.lock().expect("queue lock").is_empty());
}

#[test]
fn zero_turns_the_per_address_cap_off_and_a_freed_place_admits_again() {
    let connections = Connections::new(3, 0);
    let a = ip("192.0.2.1");
    let held: Vec<_> = (0..3)
        .map(|_| connections.admit(a).expect("under the cap"))
        .collect();
    for (_, silent) in &held {
        silent.spoke();
    }
    assert_eq!(connections.admit(a).err(), Some(Refusal::MaxConnections));
    drop(held);
    assert_eq!(connections.open.load(Ordering::Relaxed), 0);
    assert!(connections.admit(a).is_ok());
}
