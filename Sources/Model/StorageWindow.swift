/// A PyTorch view onto a flat storage: `offset`, `shape` and `stride` in elements (`t[3]`, `t[:, :8]`, `t.t()`).
/// Built only by validated programs: every element it reaches lies inside its storage.
public struct StorageWindow: Sendable, Equatable {
    public var offset: Int
    public var shape: [Int]
    public var stride: [Int]

    public init(offset: Int, shape: [Int], stride: [Int]) {
        self.offset = offset
        self.shape = shape
        self.stride = stride
    }

    /// The whole storage of `count` elements, as a flat contiguous tensor.
    public static func whole(_ count: Int) -> StorageWindow { StorageWindow(offset: 0, shape: [count], stride: [1]) }

    public var count: Int { shape.reduce(1, *) }

    /// `is_contiguous()`: row-major strides, ignoring dimensions of size 1 (an empty tensor is contiguous).
    public var isContiguous: Bool {
        if count == 0 { return true }
        var expected = 1
        for d in shape.indices.reversed() where shape[d] != 1 {
            if stride[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// True when the window is the whole storage of `count` elements, contiguous (a write to it overwrites everything).
    public func coversWhole(_ count: Int) -> Bool { offset == 0 && self.count == count && isContiguous }

    /// The storage offsets of the elements in logical (row-major) order.
    public func forEachOffset(_ body: (_ logical: Int, _ offset: Int) -> Void) {
        let n = count
        if n == 0 { return }
        if isContiguous {
            for i in 0..<n { body(i, offset + i) }
            return
        }
        var index = [Int](repeating: 0, count: shape.count)
        var at = offset
        for i in 0..<n {
            body(i, at)
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                at += stride[d]
                if index[d] < shape[d] { break }
                at -= stride[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// The storage offsets of `source` (a window whose shape broadcasts to `shape`, numpy rules) for each element
    /// of this window, in logical order.
    public func broadcastOffsets(of source: StorageWindow) -> [Int] {
        let k = shape.count - source.shape.count
        var strides = [Int](repeating: 0, count: shape.count)
        for d in source.shape.indices where source.shape[d] != 1 { strides[d + k] = source.stride[d] }
        let expanded = StorageWindow(offset: source.offset, shape: shape, stride: strides)
        var out = [Int]()
        out.reserveCapacity(count)
        expanded.forEachOffset { _, o in out.append(o) }
        return out
    }
}
