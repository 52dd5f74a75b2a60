import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MMEngine

/// Pretrained checkpoints from http(s) URLs that start with an operator-allowed prefix (MMEngine's `load_from_http`,
/// without its cache): downloaded to a temporary file under size and time limits, then read like a local file.
enum CheckpointDownload {
    static func isURL(_ checkpoint: String) -> Bool {
        let lower = checkpoint.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// Whether `url` is under one of `prefixes`. A prefix matches at a path boundary (`https://h/models` allows
    /// `https://h/models/x.pth`, not `https://h/models-old/x.pth`); URLs with user info, `..` segments, backslashes or
    /// fragments never match, so a prefix cannot be escaped by what the server or libcurl would normalize.
    static func isAllowed(_ url: String, prefixes: [String]) -> Bool {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty,
              parsed.user == nil, parsed.password == nil, parsed.fragment == nil,
              !url.contains("\\"), !url.contains("@") else { return false }
        let segments = parsed.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: false)
        for s in segments {
            let decoded = (String(s).removingPercentEncoding ?? String(s)).lowercased()
            if decoded == ".." || decoded == "." || decoded.contains("/") || decoded.contains("\\") { return false }
        }
        for prefix in prefixes where !prefix.isEmpty && url.hasPrefix(prefix) {
            if prefix.hasSuffix("/") || url.count == prefix.count { return true }
            let next = url[url.index(url.startIndex, offsetBy: prefix.count)]
            if next == "/" || next == "?" { return true }
            // A prefix that is a bare origin ("https://h") must not match "https://h.evil.org".
        }
        return false
    }

    /// Downloads `url` into a new temporary file and returns its path (the caller removes it).
    static func fetch(_ url: String, allowedPrefixes: [String], maxBytes: UInt64, timeout: Double) throws(PretrainedLoadError) -> String {
        guard !allowedPrefixes.isEmpty else {
            throw PretrainedLoadError("checkpoint URLs are not allowed on this server: '\(url)' (start it with --allow-checkpoint-url-prefix)")
        }
        guard isAllowed(url, prefixes: allowedPrefixes), let target = URL(string: url) else {
            throw PretrainedLoadError("checkpoint URL '\(url)' is not under an allowed prefix (\(allowedPrefixes.map { "'\($0)'" }.joined(separator: ", ")))")
        }
        let path = NSTemporaryDirectory() + "weightinit-download-" + UUID().uuidString + ".ckpt"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw PretrainedLoadError("cannot create a temporary file to download '\(url)' into")
        }
        let task = DownloadTask(url: url, handle: handle, maxBytes: maxBytes, allowedPrefixes: allowedPrefixes)
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = min(timeout, 30)
        config.timeoutIntervalForResource = timeout
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        config.httpCookieStorage = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: config, delegate: task, delegateQueue: queue)
        var request = URLRequest(url: target)
        request.timeoutInterval = min(timeout, 30)
        let dataTask = session.dataTask(with: request)
        dataTask.resume()
        let finished = task.done.wait(timeout: .now() + timeout + 1) == .success
        if !finished { dataTask.cancel() }
        session.invalidateAndCancel()
        try? handle.close()
        let failure: String? = finished ? task.failure : "timed out after \(Int(timeout)) s"
        if let failure {
            try? FileManager.default.removeItem(atPath: path)
            throw PretrainedLoadError("cannot download checkpoint '\(url)': \(failure)")
        }
        return path
    }
}

/// Streams one response body to a file, enforcing the status, the size limit and the redirect rule.
private final class DownloadTask: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let url: String
    let handle: FileHandle
    let maxBytes: UInt64
    let allowedPrefixes: [String]
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var received: UInt64 = 0
    private var reason: String?
    private var completed = false

    init(url: String, handle: FileHandle, maxBytes: UInt64, allowedPrefixes: [String]) {
        self.url = url
        self.handle = handle
        self.maxBytes = maxBytes
        self.allowedPrefixes = allowedPrefixes
    }

    var failure: String? { lock.lock(); defer { lock.unlock() }; return reason }

    private func fail(_ message: String) {
        lock.lock(); defer { lock.unlock() }
        if reason == nil { reason = message }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            fail("not an HTTP response")
            return completionHandler(.cancel)
        }
        guard http.statusCode == 200 else {
            fail("HTTP \(http.statusCode)")
            return completionHandler(.cancel)
        }
        if http.expectedContentLength > 0, UInt64(http.expectedContentLength) > maxBytes {
            fail("the server announces \(http.expectedContentLength) bytes, over this server's download limit of \(maxBytes) bytes")
            return completionHandler(.cancel)
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        received += UInt64(data.count)
        let over = received > maxBytes
        lock.unlock()
        if over {
            fail("the download exceeds this server's limit of \(maxBytes) bytes")
            dataTask.cancel()
            return
        }
        do { try handle.write(contentsOf: data) } catch {
            fail("cannot write the download: \(error)")
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        let next = request.url?.absoluteString ?? ""
        if CheckpointDownload.isAllowed(next, prefixes: allowedPrefixes) {
            completionHandler(request)
        } else {
            fail("redirected to '\(next)', which is not under an allowed prefix")
            completionHandler(nil)
            task.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error { fail(error.localizedDescription) }
        else if (task.response as? HTTPURLResponse)?.statusCode != 200 { fail("no complete HTTP 200 response") }
        lock.lock()
        let first = !completed
        completed = true
        lock.unlock()
        if first { done.signal() }
    }
}
