import Foundation
import SwiftdGraph

extension Daemon {
    /// Reads `HostConfig.StorageOpt` of a create request body and checks it for the graph's
    /// driver. Returns nil when the request has none.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for a key other than `size` or an invalid size.
    // TODO: `HostConfig` in SwiftdAPI has no `StorageOpt` field yet, so the option is read from
    // the body here, and `inspect` does not show it.
    func storageOptions(createBody body: String) throws -> StorageOptions? {
        struct Request: Decodable {
            struct Host: Decodable {
                var StorageOpt: [String: String]?
            }
            var HostConfig: Host?
        }
        let request = try JSONDecoder().decode(Request.self, from: Data(body.utf8))
        guard let options = request.HostConfig?.StorageOpt, !options.isEmpty else { return nil }
        return try StorageOptions(containerOptions: options, driver: graph.driver)
    }
}
