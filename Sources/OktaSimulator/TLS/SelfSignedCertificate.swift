import Crypto
public import Foundation
import SwiftASN1
import X509

/// A self-signed certificate and its key, made at run time (never committed), for the simulator's
/// HTTPS, the demo's listener and the tests. It is its own trust root.
public struct SelfSignedCertificate: Sendable {
    /// The certificate, PEM.
    public let certificatePEM: String
    /// The P-256 private key, PEM (PKCS#8).
    public let privateKeyPEM: String

    /// Makes a certificate for `localhost`, `127.0.0.1` and `::1` (and any other names given).
    /// - Parameters:
    ///   - dnsNames: Extra DNS names.
    ///   - validFor: Validity from now.
    public init(dnsNames: [String] = [], validFor: TimeInterval = 86_400 * 30) throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("okta-connector test certificate") }
        let now = Date()
        var names: [GeneralName] = (["localhost"] + dnsNames).map { .dnsName($0) }
        names.append(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])))
        names.append(.ipAddress(ASN1OctetString(contentBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])))
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validFor),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
            }, issuerPrivateKey: .init(key))
        certificatePEM = try certificate.serializeAsPEM().pemString
        privateKeyPEM = key.pemRepresentation
    }

    /// Writes the certificate and key to files (key readable by the owner only).
    /// - Returns: The certificate and key paths.
    public func write(to directory: URL) throws -> (certificate: String, privateKey: String) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("tls.crt")
        let key = directory.appendingPathComponent("tls.key")
        try certificatePEM.write(to: certificate, atomically: true, encoding: .utf8)
        try privateKeyPEM.write(to: key, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.path)
        return (certificate.path, key.path)
    }
}
