import SwiftdNetwork

/// A container's membership of one bridge network, as stored with the container.
struct NetworkAttachment: Codable, Sendable, Equatable {
    /// The network's name: `bridge` for the default bridge.
    var network: String
    /// `--network-alias`: further names of the container on a user-defined network.
    var aliases: [String]
    /// `--ip`: the address the container asked for, if any.
    var requestedAddress: String?
    /// `--mac-address`: the MAC address the container asked for, if any.
    var requestedMACAddress: String?
    /// `--link NAME:ALIAS` on a user-defined network: aliases that only this container
    /// resolves, through the embedded DNS server, to the container NAME on this network.
    var links: [String]?
    /// The container's endpoint while it runs.
    var endpoint: Endpoint?
}

extension ContainerRecord {
    /// True if the network mode gives the container an interface on a bridge network.
    var hasBridgeNetworkMode: Bool {
        !["none", "host"].contains(networkName) && !networkName.hasPrefix("container:")
    }

    /// The container's bridge networks in the order they are attached at start, the first one
    /// as eth0. A record saved before containers could join several networks has none stored;
    /// its network mode is its one network then.
    var attachments: [NetworkAttachment] {
        get {
            networks
                ?? (hasBridgeNetworkMode
                    ? [NetworkAttachment(network: networkName, aliases: [], endpoint: nil)] : [])
        }
        set { networks = newValue }
    }

    /// The endpoint on the network of the container's network mode while it runs. Setting nil
    /// clears the endpoints of every network; setting an endpoint sets that network's.
    var endpoint: Endpoint? {
        get { attachments.first { $0.network == networkName }?.endpoint }
        set {
            var all = attachments
            for index in all.indices where newValue == nil || all[index].network == networkName {
                all[index].endpoint = newValue
            }
            attachments = all
        }
    }

    /// The running endpoints with their networks.
    var connectedEndpoints: [(network: String, endpoint: Endpoint, aliases: [String])] {
        attachments.compactMap { attachment in
            attachment.endpoint.map { (attachment.network, $0, attachment.aliases) }
        }
    }
}
