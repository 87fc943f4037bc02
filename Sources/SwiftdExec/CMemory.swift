#if canImport(Glibc)
    import Glibc
#endif

/// C memory for one call into the C init: strings and arrays that stay valid until `free()`.
final class CMemory {
    private var allocations: [UnsafeMutableRawPointer] = []

    /// A NUL-terminated copy of `text`.
    func string(_ text: String) -> UnsafePointer<CChar> {
        let copy = strdup(text)!
        allocations.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    /// A NULL-terminated array of copies of `texts`, as argv and envp are.
    func strings(_ texts: [String]) -> UnsafePointer<UnsafeMutablePointer<CChar>?> {
        let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(
            capacity: texts.count + 1)
        allocations.append(UnsafeMutableRawPointer(array))
        for (index, text) in texts.enumerated() {
            array[index] = UnsafeMutablePointer(mutating: string(text))
        }
        array[texts.count] = nil
        return UnsafePointer(array)
    }

    /// A copy of `elements` (at least one element of room, so that it is never NULL).
    func array<Element>(_ elements: [Element]) -> UnsafePointer<Element> {
        let copy = UnsafeMutablePointer<Element>.allocate(capacity: max(elements.count, 1))
        allocations.append(UnsafeMutableRawPointer(copy))
        for (index, element) in elements.enumerated() {
            (copy + index).initialize(to: element)
        }
        return UnsafePointer(copy)
    }

    /// Frees everything handed out. The elements are trivial C values, so nothing is
    /// deinitialized.
    func free() {
        for pointer in allocations { Glibc.free(pointer) }
        allocations.removeAll()
    }
}
