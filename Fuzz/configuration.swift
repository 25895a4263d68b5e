// libFuzzer target: the configuration loader (YAML through Yams, `${ENV}` substitution, validation
// with key paths and lines). A configuration file is operator input, often templated from other
// systems: whatever it holds, loading answers with errors, never a crash, and never echoes a
// substituted secret. Built by scripts/fuzz.sh as one module with Yams (its C parser compiled with
// the sanitizer too), the configuration sources and the domain sources; the record hash is the one
// part replaced (Fuzz/support/sha256_stand_in.swift), since swift-crypto is not built here.
import Foundation

let secretValue = "s3cr3t-fuzz-value-7f1c"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    do {
        _ = try ConfigurationLoader.parse(
            yaml: text, file: "/fuzz/config.yaml", environment: ["OKTA_TOKEN": secretValue, "EMPTY": ""],
            fileReader: { path in
                // A secret file holds the secret too; anything else is missing.
                if path.hasSuffix("token") { return secretValue + "\n" }
                throw CocoaError(.fileNoSuchFile)
            })
    } catch {
        let message = "\(error)"
        precondition(!message.isEmpty, "an empty error")
        precondition(!message.contains(secretValue), "a substituted secret echoed in an error: \(message)")
    }
    return 0
}
