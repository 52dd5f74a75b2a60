import Checkpoints
import Foundation
import MMEngine
import Model
import Tensors

/// Pretrained checkpoints from the operator's checkpoint folder (relative paths only, never outside it) and from
/// http(s) URLs under an allowed prefix.
struct CheckpointDirectoryLoader: PretrainedLoader {
    /// nil: no checkpoint folder, only allowed URLs.
    let root: String?
    let allowedURLPrefixes: [String]
    var maxDownloadBytes: UInt64 = EngineOptions.defaultMaxCheckpointDownloadBytes
    var downloadTimeout: Double = EngineOptions.defaultCheckpointDownloadTimeout

    func load(_ checkpoint: String) throws(PretrainedLoadError) -> [PretrainedTensor] {
        if CheckpointDownload.isURL(checkpoint) {
            let file = try CheckpointDownload.fetch(checkpoint, allowedPrefixes: allowedURLPrefixes,
                                                    maxBytes: maxDownloadBytes, timeout: downloadTimeout)
            // The reader keeps the file open; the name can go at once.
            defer { try? FileManager.default.removeItem(atPath: file) }
            return try PretrainedFile.read(path: file, label: checkpoint)
        }
        let path = try resolve(checkpoint)
        return try PretrainedFile.read(path: path, label: checkpoint)
    }

    /// The file inside `root` that `checkpoint` names, refusing escapes (absolute paths, `..`, symlinks out).
    func resolve(_ checkpoint: String) throws(PretrainedLoadError) -> String {
        if CheckpointDownload.isURL(checkpoint) {
            throw PretrainedLoadError("checkpoint URLs are not allowed on this server: '\(checkpoint)'")
        }
        guard let root else {
            throw PretrainedLoadError("checkpoint files are not available here (no checkpoint folder; start the service with --checkpoint-dir): '\(checkpoint)'")
        }
        if checkpoint.contains("://") {
            throw PretrainedLoadError("unsupported checkpoint scheme in '\(checkpoint)': give a path relative to the checkpoint folder")
        }
        if checkpoint.hasPrefix("/") || checkpoint.hasPrefix("~") {
            throw PretrainedLoadError("checkpoint paths must be relative to the checkpoint folder, not absolute: '\(checkpoint)'")
        }
        if checkpoint.split(separator: "/").contains("..") {
            throw PretrainedLoadError("checkpoint paths may not contain '..': '\(checkpoint)'")
        }
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath()
        let candidate = rootURL.appendingPathComponent(checkpoint)
        guard FileManager.default.fileExists(atPath: candidate.path) else {
            throw PretrainedLoadError("FileNotFoundError: \(checkpoint) can not be found.")
        }
        let real = candidate.resolvingSymlinksInPath().path
        let base = rootURL.path.hasSuffix("/") ? rootURL.path : rootURL.path + "/"
        guard real.hasPrefix(base) else {
            throw PretrainedLoadError("checkpoint '\(checkpoint)' resolves outside the checkpoint folder")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDir), !isDir.boolValue else {
            throw PretrainedLoadError("FileNotFoundError: \(checkpoint) can not be found.")
        }
        return real
    }
}

/// Reads a checkpoint file into Pretrained tensors (safetensors, torch zip, legacy torch), executing nothing.
enum PretrainedFile {
    static func read(path: String, label: String) throws(PretrainedLoadError) -> [PretrainedTensor] {
        let checkpoint: LoadedCheckpoint
        do {
            checkpoint = try CheckpointReader.load(path: path)
        } catch {
            // The reader names the file by its server path (the checkpoint folder's mount point, a download's
            // temporary file): answers name it as the request did.
            let error = error.naming(path, as: label)
            if error.kind == .notAStateDict {
                throw PretrainedLoadError("RuntimeError: No state_dict found in checkpoint file \(label) (\(error.message))")
            }
            throw PretrainedLoadError("cannot load checkpoint '\(label)': \(error.message)")
        }
        return checkpoint.stateDict.map { entry in
            PretrainedTensor(key: entry.key, shape: entry.tensor.shape, dtype: entry.tensor.dtype,
                             source: StoredTensorSource(checkpoint: checkpoint, tensor: entry.tensor, label: label))
        }
    }
}

/// One checkpoint tensor, read when its values are needed (`param.copy_(value)` casts to the parameter's dtype).
struct StoredTensorSource: TensorSource {
    let checkpoint: LoadedCheckpoint
    let tensor: StoredTensor
    let label: String

    func read(into out: UnsafeMutableBufferPointer<Float>) throws {
        let values: [Float]
        do { values = try checkpoint.readFloat32(tensor) } catch { throw error.naming(checkpoint.path, as: label) }
        precondition(values.count == out.count, "checkpoint tensor size changed")
        _ = out.initialize(from: values)
    }

    func read(into out: UnsafeMutableBufferPointer<Double>) throws {
        let values: [Double]
        do { values = try checkpoint.readFloat64(tensor) } catch { throw error.naming(checkpoint.path, as: label) }
        precondition(values.count == out.count, "checkpoint tensor size changed")
        _ = out.initialize(from: values)
    }
}

extension CheckpointReadError {
    /// The same error with every mention of the server's `path` for the file replaced by `label`.
    func naming(_ path: String, as label: String) -> CheckpointReadError {
        path.isEmpty ? self : CheckpointReadError(kind, message.replacingOccurrences(of: path, with: label))
    }
}
