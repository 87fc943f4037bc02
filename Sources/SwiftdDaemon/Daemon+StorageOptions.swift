import Foundation
import SwiftdAPI
import SwiftdGraph

extension Daemon {
    /// Checks `HostConfig.StorageOpt` of a create request for the graph's driver. Returns nil
    /// when the request has none.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for a key other than `size` or an invalid size.
    func storageOptions(_ hostConfig: HostConfig) throws -> StorageOptions? {
        guard let options = hostConfig.StorageOpt, !options.isEmpty else { return nil }
        return try StorageOptions(containerOptions: options, driver: graph.driver)
    }
}
