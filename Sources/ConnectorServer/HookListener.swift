public import ConnectorConfiguration
import Foundation
import HTTPTypes
public import Hummingbird
public import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOHTTPTypes
public import NIOSSL

/// How the event hook listener serves: HTTPS with the configured certificate (TLS 1.2 at least,
/// forward-secret suites only), HTTP/1.1, and limits against slow or greedy clients (SPEC §4, §12):
/// a deadline for each whole request, an idle timeout for kept-alive connections, a connection cap,
/// and header size limits.
public enum HookListener {
    /// The TLS 1.2 suites offered: ECDHE key exchange (forward secrecy) with AEAD ciphers. TLS 1.3
    /// suites are all forward-secret and not configurable.
    public static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// The server builder for the listener.
    /// - Parameters:
    ///   - tls: Certificate and key files; `nil` serves plain HTTP (tests only).
    ///   - limits: The request deadline and idle timeout (the connection cap is in ``configuration(_:)``).
    /// - Returns: The builder.
    public static func serverBuilder(tls: TLSFiles?, limits: ListenerLimits = ListenerLimits()) throws
        -> HTTPServerBuilder
    {
        let tlsConfiguration = try tls.map(serverTLSConfiguration)
        let deadline = TimeAmount.nanoseconds(Int64(limits.requestDeadline * 1_000_000_000))
        let idle = TimeAmount.nanoseconds(Int64(limits.idleTimeout * 1_000_000_000))
        return HTTPServerBuilder { responder in
            let http1 = HTTP1Channel(
                responder: responder,
                configuration: .init(
                    additionalChannelHandlers: [RequestDeadlineHandler(deadline: deadline)], idleTimeout: idle,
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 64 * 1024, maxHeaderFieldCount: 100)))
            let watched = ByteArrivalChannel(base: http1)
            guard let tlsConfiguration else { return watched }
            return try TLSChannel(watched, tlsConfiguration: tlsConfiguration)
        }
    }

    /// The listener's TLS settings: the certificate and key, TLS 1.2 or newer, forward-secret suites.
    /// - Parameter files: The PEM files.
    /// - Returns: The server TLS configuration.
    public static func serverTLSConfiguration(_ files: TLSFiles) throws -> TLSConfiguration {
        let certificates = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
        let key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuiteValues = tls12CipherSuites
        // How long a closing connection waits for the client's `close_notify` (NIOSSL's default is
        // 5 s): at shutdown every idle kept-alive connection is closed, and an idle client does not
        // answer, so each held the stop for 5 s. Every answer was written before the close.
        configuration.shutdownTimeout = .seconds(1)
        return configuration
    }

    /// The application configuration of the listener: its address and the connection cap. Beyond
    /// the cap no connection is accepted until one closes (new ones wait in the kernel's backlog and
    /// are refused when it is full); those being served are not affected.
    /// - Parameters:
    ///   - address: Where to listen.
    ///   - limits: The connection cap.
    ///   - logger: The logger.
    /// - Returns: The configuration.
    public static func configuration(address: BindAddress, limits: ListenerLimits, logger: Logger)
        -> ApplicationConfiguration
    {
        ApplicationConfiguration(
            address: address, serverName: nil,
            availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger))
    }
}

/// A child channel that puts a ``ByteArrivalHandler`` in front of its base channel's handlers.
struct ByteArrivalChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ByteArrivalHandler())
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Told by ``ByteArrivalHandler`` that bytes of a request arrived, before the HTTP decoder sees them.
struct RequestBytesArrived: Sendable {}

/// Tells the handlers behind it each time bytes arrive (after TLS, before HTTP decoding), so that a
/// request's deadline starts at its first byte, not when its headers are complete.
final class ByteArrivalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(RequestBytesArrived())
        context.fireChannelRead(data)
    }
}

/// A deadline for each whole request, headers and body: from its first byte (or the connection's
/// opening, which covers the TLS handshake) until its last. A client that trickles bytes keeps
/// resetting an idle timer, never this one. When it passes, a request that has started is answered
/// `408` and the connection closed; a connection that sent nothing is closed.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    enum State {
        /// Waiting for a request; on a fresh connection the clock runs already.
        case waiting
        /// A request is arriving; `started` is whether any of its bytes came.
        case receiving(started: Bool)
        /// The request arrived or its answer began: the deadline no longer applies.
        case answering
        case closed
    }

    let deadline: TimeAmount
    var state = State.waiting
    var timer: Scheduled<Void>?
    /// Whether the connection is closed once the answer is written: an answer with
    /// `Connection: close` given before the whole request arrived (a wrong secret, a body too
    /// large), whose rest is never read.
    var closeAfterAnswer = false
    /// Closes the connection at the end of a lingering close (see ``lingerThenClose(_:)``).
    var lingerTimer: Scheduled<Void>?

    /// How long the rest of an unread request is read and dropped after an early answer, before
    /// the connection is closed regardless.
    static let linger = TimeAmount.seconds(2)

    init(deadline: TimeAmount) {
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // A fresh connection: its handshake and first request share one deadline.
        state = .receiving(started: false)
        startTimer(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
        lingerTimer?.cancel()
        lingerTimer = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is RequestBytesArrived else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch state {
        case .waiting:
            state = .receiving(started: true)
            startTimer(context)
        case .receiving:
            state = .receiving(started: true)
        case .answering, .closed:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data), case .receiving = state {
            stopTimer()
            state = .answering
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            // An answer before the whole request (401 before the body, 413): no 408 after it, and
            // with `Connection: close` the connection goes once the answer is out, the rest of the
            // request unread (the server would otherwise wait to drain the body).
            if case .receiving = state {
                stopTimer()
                state = .answering
                closeAfterAnswer = response.headerFields[.connection]?.lowercased() == "close"
            }
        case .end:
            if case .answering = state { state = .waiting }
            if closeAfterAnswer {
                closeAfterAnswer = false
                state = .closed
                let written = context.eventLoop.makePromise(of: Void.self)
                if let promise { written.futureResult.cascade(to: promise) }
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                written.futureResult.whenComplete { _ in
                    let (handler, context) = loopBound.value
                    handler.lingerThenClose(context)
                }
                context.write(data, promise: written)
                return
            }
        case .body:
            break
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        lingerTimer?.cancel()
        lingerTimer = nil
        state = .closed
        context.fireChannelInactive()
    }

    private func startTimer(_ context: ChannelHandlerContext) {
        stopTimer()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: deadline) {
            let (handler, context) = loopBound.value
            handler.deadlinePassed(context)
        }
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }

    /// A lingering close, as HTTP servers do after answering a request they did not read to its
    /// end: closing at once with unread bytes in the socket makes the kernel reset the connection,
    /// and a client still sending can lose the answer. So the sending side is closed (the client
    /// reads the answer and then the end of the stream), what still arrives is read and dropped,
    /// and the connection is closed when the client closes its side or after ``linger``.
    /// - Parameter context: The handler's context.
    private func lingerThenClose(_ context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let outputClosed = context.eventLoop.makePromise(of: Void.self)
        // A transport that cannot half-close (or a connection already gone): close it all.
        outputClosed.futureResult.whenFailure { _ in loopBound.value.close(promise: nil) }
        context.close(mode: .output, promise: outputClosed)
        lingerTimer = context.eventLoop.scheduleTask(in: min(deadline, Self.linger)) {
            loopBound.value.close(promise: nil)
        }
    }

    private func deadlinePassed(_ context: ChannelHandlerContext) {
        timer = nil
        guard case .receiving(let started) = state else { return }
        state = .closed
        guard started else {
            context.close(promise: nil)
            return
        }
        let body = ByteBuffer(string: #"{"error":"the request did not arrive in time"}"#)
        var response = HTTPResponse(status: .requestTimeout)
        response.headerFields[.contentType] = "application/json"
        response.headerFields[.contentLength] = "\(body.readableBytes)"
        response.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}
