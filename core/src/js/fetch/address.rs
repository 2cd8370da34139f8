//! Restricted addresses: the ones that reach the host's own machine or its networks
//! (loopback, private, link-local with the cloud metadata service, unspecified, ...), and
//! the resolver that keeps names from leading there. A URL's IP literal is checked by the
//! allow-list; a name is checked here, on the addresses it resolves to, which is what the
//! connection will use, so DNS cannot rebind an allowed name onto them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::Refusal;

/// The one name that may resolve to loopback addresses, when the allow-list names it.
pub(super) const LOCALHOST: &str = "localhost";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Restricted {
    Unspecified,
    Loopback,
    Private,
    SharedNat,
    LinkLocal,
    Multicast,
    Reserved,
}

impl fmt::Display for Restricted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Restricted::Unspecified => "an unspecified address",
            Restricted::Loopback => "a loopback address",
            Restricted::Private => "a private address",
            Restricted::SharedNat => "a shared (carrier-grade NAT) address",
            Restricted::LinkLocal => "a link-local address",
            Restricted::Multicast => "a multicast or broadcast address",
            Restricted::Reserved => "a reserved address",
        })
    }
}

use Restricted::*;

const V4: &[([u8; 4], u32, Restricted)] = &[
    // "This network": connecting to 0.0.0.0 reaches the local machine.
    ([0, 0, 0, 0], 8, Unspecified),
    ([10, 0, 0, 0], 8, Private),
    ([100, 64, 0, 0], 10, SharedNat),
    ([127, 0, 0, 0], 8, Loopback),
    // Holds the cloud metadata service (169.254.169.254) and its credentials.
    ([169, 254, 0, 0], 16, LinkLocal),
    ([172, 16, 0, 0], 12, Private),
    ([192, 0, 0, 0], 24, Reserved),
    ([192, 168, 0, 0], 16, Private),
    ([198, 18, 0, 0], 15, Reserved),
    ([224, 0, 0, 0], 4, Multicast),
    // Includes the broadcast address 255.255.255.255.
    ([240, 0, 0, 0], 4, Reserved),
];

const V6: &[([u16; 8], u32, Restricted)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, Unspecified),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, Loopback),
    // Unique local addresses, IPv6's private networks.
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, Private),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
    // Site-local, deprecated but still routed inside some networks.
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, Private),
    // Local-use NAT64, which translates to the operator's own IPv4 networks.
    ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, Private),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
];

/// What kind of restricted address `ip` is, if it is one. An IPv6 address that carries an
/// IPv4 address (mapped, compatible, NAT64, 6to4) is judged by that IPv4 address too.
pub(super) fn restriction(ip: IpAddr) -> Option<Restricted> {
    match ip {
        IpAddr::V4(ip) => v4_restriction(ip),
        IpAddr::V6(ip) => v6_restriction(ip),
    }
}

fn v4_restriction(ip: Ipv4Addr) -> Option<Restricted> {
    let ip = u32::from(ip);
    V4.iter().find(|&&(net, len, _)| ip >> (32 - len) == u32::from_be_bytes(net) >> (32 - len)).map(|&(_, _, kind)| kind)
}

fn v6_restriction(ip: Ipv6Addr) -> Option<Restricted> {
    let bits = u128::from(ip);
    V6.iter()
        .find(|&&(net, len, _)| bits >> (128 - len) == u128::from(Ipv6Addr::from(net)) >> (128 - len))
        .map(|&(_, _, kind)| kind)
        .or_else(|| embedded_v4(ip).and_then(v4_restriction))
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = ip.octets();
    match ip.segments() {
        // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d).
        [0, 0, 0, 0, 0, 0xffff | 0, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(Ipv4Addr::new(o[12], o[13], o[14], o[15])),
        // 6to4 (2002:AABB:CCDD::/48) routes to the IPv4 address A.B.C.D.
        [0x2002, ..] => Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        _ => None,
    }
}

/// The fetch client's resolver: the system's, refusing names that resolve to restricted
/// addresses. Only `localhost` may resolve to loopback, because the allow-list lets a
/// `localhost` URL through only when a pattern names `localhost` with that port.
pub(super) struct Resolver;

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            check_resolved(&name, &addresses)?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Refuses the whole name if any of its addresses is restricted: the connection may use any.
fn check_resolved(name: &str, addresses: &[SocketAddr]) -> Result<(), Refusal> {
    for address in addresses {
        match restriction(address.ip()) {
            Some(Loopback) if name == LOCALHOST => {}
            Some(kind) => {
                return Err(Refusal(format!(
                    "`{name}` resolves to {}, {kind}, which tasks reach only through a fetch allow-list pattern naming \
                     the address itself (such as `127.0.0.1:8080`) or `localhost`",
                    address.ip()
                )))
            }
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(ip: &str) -> Option<Restricted> {
        restriction(ip.parse().unwrap())
    }

    #[test]
    fn restricted_ipv4_ranges_are_recognised_and_public_addresses_are_not() {
        assert_eq!(kind("127.3.2.1"), Some(Loopback));
        assert_eq!(kind("10.255.0.1"), Some(Private));
        assert_eq!(kind("172.31.255.255"), Some(Private));
        assert_eq!(kind("172.32.0.1"), None);
        assert_eq!(kind("192.168.1.1"), Some(Private));
        assert_eq!(kind("169.254.169.254"), Some(LinkLocal));
        assert_eq!(kind("100.64.0.1"), Some(SharedNat));
        assert_eq!(kind("0.0.0.0"), Some(Unspecified));
        assert_eq!(kind("255.255.255.255"), Some(Reserved));
        assert_eq!(kind("224.0.0.1"), Some(Multicast));
        assert_eq!(kind("93.184.215.14"), None);
        assert_eq!(kind("8.8.8.8"), None);
    }

    #[test]
    fn ipv6_ranges_and_embedded_ipv4_addresses_are_recognised() {
        assert_eq!(kind("::1"), Some(Loopback));
        assert_eq!(kind("::"), Some(Unspecified));
        assert_eq!(kind("fd12::1"), Some(Private));
        assert_eq!(kind("fe80::1"), Some(LinkLocal));
        assert_eq!(kind("::ffff:127.0.0.1"), Some(Loopback));
        assert_eq!(kind("::ffff:169.254.169.254"), Some(LinkLocal));
        assert_eq!(kind("::10.0.0.1"), Some(Private));
        assert_eq!(kind("64:ff9b::192.168.0.1"), Some(Private));
        assert_eq!(kind("2002:7f00:1::"), Some(Loopback));
        assert_eq!(kind("::ffff:8.8.8.8"), None);
        assert_eq!(kind("2606:4700::1111"), None);
    }
}
