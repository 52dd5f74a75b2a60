import CMicroHTTPD

// The C entry points MHD calls. They are plain global functions because a C function pointer
// cannot capture context: state arrives through the `cls` / `con_cls` pointers instead.
// Nothing here may throw or trap; everything becomes a return code.

func mhdAccessHandler(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
    _ uploadDataSize: UnsafeMutablePointer<Int>?, _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let uploadDataSize, let conCls else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    if let raw = conCls.pointee {
        let context = Unmanaged<RequestContext>.fromOpaque(raw).takeUnretainedValue()
        return server.continueRequest(context, connection: connection, data: uploadData, size: uploadDataSize)
    }
    let context = server.beginRequest(
        connection: connection,
        method: method.map { String(cString: $0) } ?? "",
        url: url.map { String(cString: $0) } ?? "/",
        version: version.map { String(cString: $0) } ?? "")
    conCls.pointee = Unmanaged.passRetained(context).toOpaque()
    return server.headersReceived(context, connection: connection)
}

func mhdRequestCompleted(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ code: MHD_RequestTerminationCode
) {
    guard let cls, let conCls, let raw = conCls.pointee else { return }
    conCls.pointee = nil
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    let context = Unmanaged<RequestContext>.fromOpaque(raw).takeRetainedValue()
    server.requestCompleted(context, cleanly: code == .REQUEST_TERMINATED_COMPLETED_OK)
}

func mhdStreamReader(_ cls: UnsafeMutableRawPointer?, _ pos: UInt64, _ buf: UnsafeMutablePointer<CChar>?, _ max: Int) -> Int {
    guard let cls, let buf else { return MHD_CONTENT_READER_END_WITH_ERROR }
    return Unmanaged<StreamState>.fromOpaque(cls).takeUnretainedValue().read(into: buf, max: max)
}

/// Runs when the response's last reference goes (after the completion callback).
func mhdStreamFree(_ cls: UnsafeMutableRawPointer?) {
    guard let cls else { return }
    Unmanaged<StreamState>.fromOpaque(cls).release()
}

func mhdHeaderIterator(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let box = Unmanaged<PairBox>.fromOpaque(cls).takeUnretainedValue()
    box.pairs.append((String(cString: key), value.map { String(cString: $0) }))
    return .YES
}

func mhdErrorLog(_ cls: UnsafeMutableRawPointer?, _ line: UnsafePointer<CChar>?) {
    guard let cls, let line else { return }
    Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().config.errorLog?(String(cString: line))
}

/// Collects key/value pairs from MHD_get_connection_values.
final class PairBox {
    var pairs: [(String, String?)] = []
}

extension OpaquePointer {
    /// Copies one kind of connection values (headers, query arguments) out of MHD.
    func mhdValues(_ kind: MHD_ValueKind) -> [(String, String?)] {
        let box = PairBox()
        withExtendedLifetime(box) {
            _ = MHD_get_connection_values(self, kind, mhdHeaderIterator, Unmanaged.passUnretained(box).toOpaque())
        }
        return box.pairs
    }
}
