import Foundation
import RdKafka
import RocksDB

/// A topology's global stores, open: what the global-state thread keeps and the test
/// driver feeds. Each store has one topic, and what applies a record of it.
final class GlobalStores {
    /// The stores' instances, by store name.
    let instances: [StoreInstance]
    /// The topic of each store, in the order of `instances`.
    let topics: [String]
    /// What applies a record of each topic to its store.
    let updaters: [String: (PolledRecord) throws -> Void]

    /// Opens the stores (persistent ones under `directory`), sorted by name; closes those
    /// already open if one fails.
    init(_ topology: Topology, context: TaskContext, directory: String, resources: RocksDBResources?) throws {
        var instances: [StoreInstance] = []
        var topics: [String] = []
        var updaters: [String: (PolledRecord) throws -> Void] = [:]
        do {
            for definition in topology.globalStores.values.sorted(by: { $0.store.name < $1.store.name }) {
                if definition.store.persistent { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
                let instance = try definition.store.make(StoreCreation(task: context, directory: directory, resources: resources))
                instances.append(instance)
                topics.append(definition.topic)
                updaters[definition.topic] = try definition.makeUpdater(instance.typed, context)
            }
        } catch {
            for instance in instances { instance.typed.close { instance.root.close() } }
            throw error
        }
        self.instances = instances
        self.topics = topics
        self.updaters = updaters
    }

    /// The typed stores by name, for tasks to read and queries to find.
    var typed: [String: AnyObject] { Dictionary(uniqueKeysWithValues: instances.map { ($0.name, $0.typed as AnyObject) }) }

    /// Makes the stores' writes durable (RocksDB holds them in memory until then).
    func commit() throws {
        for instance in instances { try instance.typed.locked { try instance.root.commit(changelogOffset: nil) } }
    }

    func close() {
        for instance in instances { instance.typed.close { instance.root.close() } }
    }
}
