extension KStream {
    /// Writes the records to `topic`, partitioned by key. Serdes default to the stream's
    /// own, then to the configuration's.
    @inlinable
    public func to(_ topic: String, named: String? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil) {
        addSink(.topic(.external(topic)), named: named, key: key, value: value)
    }

    /// Writes each record to the topic `topicFor` names for it (given the key, the value
    /// and where the input came from).
    @inlinable
    public func to(
        named: String? = nil,
        key: AnySerde<Key>? = nil,
        value: AnySerde<Value>? = nil,
        topicFor: @escaping @Sendable (Key, Value, RecordContext?) -> String
    ) {
        addSink(.extractor(topicFor), named: named, key: key, value: value)
    }

    /// Sends the records through an internal topic (`<applicationId>-<name>-repartition`),
    /// so each lands on the partition of its key, and reads them back in a new
    /// sub-topology. `partitions` defaults to the partition count of this stream's input.
    @inlinable
    public func repartition(
        named: String? = nil, partitions: Int? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil
    ) -> KStream<Key, Value> {
        let base = builder.nodeName(named, prefix: "KSTREAM-REPARTITION-")
        let topic = TopicName.internal("\(base)-repartition")
        let keySerde = key ?? self.keySerde
        let valueSerde = value ?? self.valueSerde
        let sinkName = "\(base)-repartition-sink"
        let sourceName = "\(base)-repartition-source"
        let parent = node
        builder.record { topology in
            topology.addInternalTopic(topic.description, partitions: partitions)
            try topology.addSink(sinkName, target: SinkTarget<Key, Value>.topic(topic), parents: [parent], key: keySerde, value: valueSerde)
            // The records carry the event time given upstream: a default extractor reading
            // wall time or headers would re-stamp them.
            try topology.addSource(sourceName, topics: [topic], key: keySerde, value: valueSerde, timestamp: .recordTimestamp)
        }
        return KStream(builder: builder, node: sourceName, keySerde: keySerde, valueSerde: valueSerde)
    }

    @inlinable
    func addSink(_ target: SinkTarget<Key, Value>, named: String?, key: AnySerde<Key>?, value: AnySerde<Value>?) {
        let name = builder.nodeName(named, prefix: "KSTREAM-SINK-")
        let parent = node
        let keySerde = key ?? self.keySerde
        let valueSerde = value ?? self.valueSerde
        builder.record { try $0.addSink(name, target: target, parents: [parent], key: keySerde, value: valueSerde) }
    }
}
