import JSON

/// Python's `type(x)` as MMEngine's error messages print it.
func pythonType(_ v: JSONValue) -> String {
    switch v {
    case .null: "<class 'NoneType'>"
    case .bool: "<class 'bool'>"
    case .int: "<class 'int'>"
    case .double: "<class 'float'>"
    case .string: "<class 'str'>"
    case .array: "<class 'list'>"
    case .object: "<class 'dict'>"
    }
}

/// `isinstance(v, (int, float))` (a bool is an int in Python).
func isPythonNumber(_ v: JSONValue) -> Bool {
    switch v {
    case .int, .double, .bool: true
    default: false
    }
}

/// Numeric value of a Python int/float/bool.
func pythonNumber(_ v: JSONValue) -> Double? {
    switch v {
    case .bool(let b): b ? 1 : 0
    default: v.numberValue
    }
}
