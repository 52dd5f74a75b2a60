/// Element count of a shape; a 0-dim shape holds one element.
public func numel(_ shape: [Int]) -> Int { shape.reduce(1, *) }
