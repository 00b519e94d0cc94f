/// The processor behind the DSL's stateless operations: one closure per record.
@usableFromInline
final class StatelessProcessor<InputKey, InputValue, OutputKey, OutputValue>: Processor {
    @usableFromInline typealias Body = @Sendable (Record<InputKey, InputValue>, ProcessorContext<OutputKey, OutputValue>) throws -> Void

    @usableFromInline let context: ProcessorContext<OutputKey, OutputValue>
    @usableFromInline let body: Body

    @usableFromInline
    init(context: ProcessorContext<OutputKey, OutputValue>, body: @escaping Body) {
        self.context = context
        self.body = body
    }

    @inlinable
    func process(_ record: Record<InputKey, InputValue>) throws {
        try body(record, context)
    }
}

extension KStream {
    /// Adds a stateless node after this stream's node and returns the stream it forwards.
    @inlinable
    func stateless<OutputKey, OutputValue>(
        prefix: String,
        named: String?,
        parents: [String]? = nil,
        changesKey: Bool = false,
        keySerde: AnySerde<OutputKey>? = nil,
        valueSerde: AnySerde<OutputValue>? = nil,
        _ body: @escaping StatelessProcessor<Key, Value, OutputKey, OutputValue>.Body
    ) -> KStream<OutputKey, OutputValue> {
        let name = builder.nodeName(named, prefix: prefix)
        let parents = parents ?? [node]
        builder.record { topology in
            try topology.addProcessor(name, parents: parents) { (context: ProcessorContext<OutputKey, OutputValue>) in
                StatelessProcessor<Key, Value, OutputKey, OutputValue>(context: context, body: body)
            }
        }
        // A serde carries over whenever the type does, even through a map.
        return KStream<OutputKey, OutputValue>(
            builder: builder, node: name,
            keySerde: keySerde ?? (self.keySerde as? AnySerde<OutputKey>),
            valueSerde: valueSerde ?? (self.valueSerde as? AnySerde<OutputValue>),
            repartitionRequired: repartitionRequired || changesKey)
    }
}
