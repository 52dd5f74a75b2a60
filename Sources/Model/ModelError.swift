import JSON

/// A problem with a model spec, located by a JSON pointer into the request.
public struct ModelError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The spec does not follow the format (unknown key, wrong type, unknown leaf type).
        case invalid
        /// PyTorch or MMEngine would raise; `message` is what they would say ("ValueError: ...").
        case rejected
    }
    public var kind: Kind
    public var pointer: JSONPointer
    public var message: String

    public init(_ kind: Kind, _ pointer: JSONPointer, _ message: String) {
        self.kind = kind
        self.pointer = pointer
        self.message = message
    }

    public static func invalid(_ pointer: JSONPointer, _ message: String) -> ModelError {
        ModelError(.invalid, pointer, message)
    }

    public static func rejected(_ pointer: JSONPointer, _ message: String) -> ModelError {
        ModelError(.rejected, pointer, message)
    }

    public var description: String { "\(pointer): \(message)" }
}
