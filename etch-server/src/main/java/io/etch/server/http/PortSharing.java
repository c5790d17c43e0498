package io.etch.server.http;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.InternalChannelz;
import io.grpc.SecurityLevel;
import io.grpc.ServerCredentials;
import io.grpc.internal.GrpcAttributes;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.ProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.ByteBufUtil;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpObjectAggregator;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpServerCodec;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLSession;

/**
 * One listener for gRPC and HTTP/1.1, as etcd's cmux does on the client port: the first bytes of a
 * plaintext connection decide. The HTTP/2 connection preface hands the connection to gRPC's own
 * pipeline untouched (no proxy hop: after the first read the sniffer is gone); anything else is
 * HTTP/1.x and goes to the {@link HttpGateway} handler.
 *
 * <p>On {@code https} URLs the same choice is made after the TLS handshake, as etcd serves gRPC and
 * its gateway on one TLS port. The TLS context offers ALPN {@code http/1.1} before {@code h2} (see
 * {@code ClientTls}): gRPC clients offer only {@code h2} and get it; curl, browsers and the JDK's
 * HttpClient offer both and get HTTP/1.1, which the gateway speaks (etcd's Go server also answers
 * non-gRPC HTTP/2 requests; an HTTP/2 request that is not gRPC gets gRPC's 415 here). Whatever ALPN
 * said, the decrypted bytes decide, so a client without ALPN works too.
 *
 * <p>Plugged in through grpc-netty's {@code InternalNettyServerCredentials}: gRPC's plaintext
 * negotiator is wrapped, and its {@link ProtocolNegotiationEvent} held back until the protocol is
 * known; with TLS the event carries the TLS session, so the client certificate's common name
 * reaches the auth interceptor as with gRPC's own TLS negotiator.
 */
public final class PortSharing {
  private PortSharing() {}

  /** "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", RFC 9113 §3.4. */
  private static final byte[] H2_PREFACE =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  /** Plaintext server credentials serving gRPC and, on the same port, {@code gateway}. */
  public static ServerCredentials plaintext(HttpGateway gateway) {
    InternalProtocolNegotiator.ProtocolNegotiator grpc =
        InternalProtocolNegotiators.serverPlaintext();
    return InternalNettyServerCredentials.create(
        new InternalProtocolNegotiator.ProtocolNegotiator() {
          @Override
          public AsciiString scheme() {
            return grpc.scheme();
          }

          @Override
          public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
            return new Sniffer(grpc.newHandler(grpcHandler), gateway);
          }

          @Override
          public void close() {
            grpc.close();
          }
        });
  }

  /**
   * TLS server credentials serving gRPC and, on the same port, {@code gateway}. {@code ssl} is
   * consulted per connection, so its reloading key and trust managers see every handshake.
   */
  public static ServerCredentials tls(SslContext ssl, HttpGateway gateway) {
    return InternalNettyServerCredentials.create(
        new InternalProtocolNegotiator.ProtocolNegotiator() {
          @Override
          public AsciiString scheme() {
            return AsciiString.of("https");
          }

          @Override
          public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
            return new TlsHandshake(
                ssl, InternalProtocolNegotiators.grpcNegotiationHandler(grpcHandler), gateway);
          }

          @Override
          public void close() {}
        });
  }

  /**
   * Puts an {@link SslHandler} in front of itself and, once the handshake succeeded, hands the
   * connection to a {@link Sniffer} with a negotiation event carrying the TLS session.
   */
  private static final class TlsHandshake extends ChannelInboundHandlerAdapter {
    private final SslContext ssl;
    private final ChannelHandler grpc;
    private final HttpGateway gateway;
    private ProtocolNegotiationEvent negotiationEvent;

    TlsHandshake(SslContext ssl, ChannelHandler grpc, HttpGateway gateway) {
      this.ssl = ssl;
      this.grpc = grpc;
      this.gateway = gateway;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      ctx.pipeline().addBefore(ctx.name(), null, ssl.newHandler(ctx.alloc()));
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof ProtocolNegotiationEvent pne) {
        negotiationEvent = pne;
        return;
      }
      if (!(evt instanceof SslHandshakeCompletionEvent done)) {
        super.userEventTriggered(ctx, evt);
        return;
      }
      if (!done.isSuccess()) {
        ctx.fireExceptionCaught(done.cause()); // gRPC's buffering handler closes the connection
        return;
      }
      SslHandler tls = ctx.pipeline().get(SslHandler.class);
      SSLSession session = tls.engine().getSession();
      ProtocolNegotiationEvent base =
          negotiationEvent != null
              ? negotiationEvent
              : InternalProtocolNegotiationEvent.getDefault();
      Attributes attrs =
          InternalProtocolNegotiationEvent.getAttributes(base).toBuilder()
              .set(Grpc.TRANSPORT_ATTR_SSL_SESSION, session)
              .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.PRIVACY_AND_INTEGRITY)
              .build();
      ProtocolNegotiationEvent secured =
          InternalProtocolNegotiationEvent.withSecurity(
              InternalProtocolNegotiationEvent.withAttributes(base, attrs),
              new InternalChannelz.Security(new InternalChannelz.Tls(session)));
      Sniffer sniffer = new Sniffer(grpc, gateway);
      ctx.pipeline().replace(this, null, sniffer);
      // the SslHandler's next handler is now the sniffer, which keeps the event for gRPC
      ctx.pipeline().context(tls).fireUserEventTriggered(secured);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      // nothing is decrypted before the handshake completes; anything else is not ours
      io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil.release(msg);
      ctx.close();
    }
  }

  /** Buffers a connection's first bytes until they match or leave the HTTP/2 preface. */
  private static final class Sniffer extends ChannelInboundHandlerAdapter {
    private final ChannelHandler grpc;
    private final HttpGateway gateway;
    private ByteBuf buffered;
    private Object negotiationEvent;

    Sniffer(ChannelHandler grpc, HttpGateway gateway) {
      this.grpc = grpc;
      this.gateway = gateway;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof ProtocolNegotiationEvent && negotiationEvent == null) {
        negotiationEvent = evt; // replayed to gRPC's handler if the connection turns out gRPC
        return;
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf in)) {
        ctx.fireChannelRead(msg);
        return;
      }
      if (buffered == null) {
        buffered = in;
      } else {
        buffered = ctx.alloc().compositeBuffer().addComponents(true, buffered, in);
      }
      int n = Math.min(buffered.readableBytes(), H2_PREFACE.length);
      for (int i = 0; i < n; i++) {
        if (buffered.getByte(buffered.readerIndex() + i) != H2_PREFACE[i]) {
          toHttp(ctx);
          return;
        }
      }
      if (n == H2_PREFACE.length) {
        toGrpc(ctx);
      }
    }

    private void toGrpc(ChannelHandlerContext ctx) {
      ctx.pipeline().addAfter(ctx.name(), null, grpc);
      if (negotiationEvent != null) {
        ctx.fireUserEventTriggered(negotiationEvent);
      }
      ByteBuf b = buffered;
      buffered = null;
      ctx.fireChannelRead(b);
      ctx.pipeline().remove(this);
    }

    private void toHttp(ChannelHandlerContext ctx) {
      gateway.track(ctx.channel());
      String name = ctx.name();
      ctx.pipeline()
          .addAfter(name, "etch-http-codec", new HttpServerCodec())
          .addAfter(
              "etch-http-codec",
              "etch-http-aggregator",
              new HttpObjectAggregator(gateway.maxBody()))
          .addAfter("etch-http-aggregator", "etch-http", gateway.newHandler());
      ByteBuf b = buffered;
      buffered = null;
      ctx.fireChannelRead(b);
      ctx.pipeline().remove(this);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      release();
      super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      release();
    }

    private void release() {
      if (buffered != null) {
        buffered.release();
        buffered = null;
      }
    }

    @Override
    public String toString() {
      return "etch-sniffer " + (buffered == null ? "" : ByteBufUtil.hexDump(buffered));
    }
  }
}
