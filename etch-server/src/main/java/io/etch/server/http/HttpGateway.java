package io.etch.server.http;

import com.google.gson.JsonStreamParser;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.grpc.BindableService;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.SimpleChannelInboundHandler;
import io.grpc.netty.shaded.io.netty.channel.group.ChannelGroup;
import io.grpc.netty.shaded.io.netty.channel.group.DefaultChannelGroup;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultHttpContent;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpRequest;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaderNames;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaders;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpMethod;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponseStatus;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpUtil;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpVersion;
import io.grpc.netty.shaded.io.netty.handler.codec.http.LastHttpContent;
import io.grpc.netty.shaded.io.netty.handler.codec.http.QueryStringDecoder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSession;

/**
 * etcd's HTTP/JSON gateway on the client port. Each POST {@code /v3/...} path is dispatched to the
 * real gRPC service through an in-process channel to a server holding the same service instances
 * and interceptors as the client port, so auth (the {@code Authorization} header becomes the {@code
 * authorization} metadata the AuthInterceptor reads), validation and error mapping are the same
 * code as for gRPC clients. JSON is protobuf's proto3 mapping with proto field names, as etcd's
 * grpc-gateway (JSONPb OrigName) prints it: bytes base64, 64-bit integers as strings, defaults
 * omitted. GET routes ({@code /version}, {@code /health}, ...) are plain functions registered with
 * {@link #addGet}.
 *
 * <p>Threads: HTTP handlers run on the connection's Netty event loop; the in-process server runs
 * service code on the calling thread (direct executor) as the client port does. A reply's listener
 * runs on the connection's event loop too (the call's executor), whichever thread the service
 * answered on: a reply written partly from a service thread (Netty queues those writes to the event
 * loop) and partly from the event loop (written at once) could end before its head and first chunk
 * went out, an unfinished chunked response.
 */
public final class HttpGateway implements AutoCloseable {
  /** A whole reply to a GET route. */
  public record Reply(HttpResponseStatus status, String contentType, String body) {
    public static Reply json(HttpResponseStatus status, String body) {
      return new Reply(status, "application/json", body);
    }

    public static Reply text(HttpResponseStatus status, String body) {
      return new Reply(status, "text/plain; charset=utf-8", body);
    }
  }

  /** A GET route: the request's query in, the reply out (asynchronously). */
  @FunctionalInterface
  public interface GetRoute {
    CompletableFuture<Reply> get(QueryStringDecoder query);
  }

  /**
   * Looks at a request before it is served: the connection's TLS session (null on plaintext) and
   * the path in; a reply refusing it, or null to serve it.
   */
  @FunctionalInterface
  public interface Guard {
    Reply refuse(SSLSession tls, String path);
  }

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final AtomicLong NAMES = new AtomicLong();
  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();
  // grpc-gateway's JSONPb ignores fields it does not know.
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  private record Route(MethodDescriptor<Message, Message> method, Message requestPrototype) {}

  private final Server server;
  private final ManagedChannel channel;
  private final Map<String, Route> posts;
  private final Map<String, GetRoute> gets = new ConcurrentHashMap<>();
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final int maxBody;
  private volatile Guard guard = (tls, path) -> null;

  private HttpGateway(
      Server server, ManagedChannel channel, Map<String, Route> posts, int maxBody) {
    this.server = server;
    this.channel = channel;
    this.posts = posts;
    this.maxBody = maxBody;
  }

  /**
   * Starts the in-process server for {@code services}, with {@code interceptors} applied in the
   * order given (as {@code ServerBuilder.intercept} calls on the client port), accepting request
   * bodies up to {@code maxBody} bytes.
   */
  public static HttpGateway start(
      List<BindableService> services, List<ServerInterceptor> interceptors, int maxBody)
      throws IOException {
    String name = "etch-gateway-" + NAMES.incrementAndGet();
    InProcessServerBuilder b = InProcessServerBuilder.forName(name).directExecutor();
    b.maxInboundMessageSize(maxBody);
    for (ServerInterceptor i : interceptors) {
      b.intercept(i);
    }
    Map<String, Route> posts = new HashMap<>();
    for (BindableService s : services) {
      ServerServiceDefinition def = s.bindService();
      b.addService(def);
      for (ServerMethodDefinition<?, ?> m : def.getMethods()) {
        addRoutes(posts, m.getMethodDescriptor());
      }
    }
    Server server = b.build().start();
    ManagedChannel channel =
        InProcessChannelBuilder.forName(name)
            .directExecutor()
            .maxInboundMessageSize(Integer.MAX_VALUE)
            .build();
    return new HttpGateway(server, channel, Map.copyOf(posts), maxBody);
  }

  @SuppressWarnings("unchecked")
  private static void addRoutes(Map<String, Route> posts, MethodDescriptor<?, ?> md) {
    List<String> paths = GatewayRoutes.PATHS.get(md.getFullMethodName());
    if (paths == null
        || !(md.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> pm)
        || !(pm.getMessagePrototype() instanceof Message prototype)) {
      return;
    }
    Route r = new Route((MethodDescriptor<Message, Message>) md, prototype);
    for (String p : paths) {
      posts.put(p, r);
    }
  }

  /** Serves GET {@code path} (exact, without the query) with {@code route}. */
  public void addGet(String path, GetRoute route) {
    gets.put(path, route);
  }

  /** Installs the check every request passes first. */
  public void guard(Guard g) {
    guard = g;
  }

  /** The channel to the gateway's in-process server: the same services, for GET routes. */
  public ManagedChannel channel() {
    return channel;
  }

  int maxBody() {
    return maxBody;
  }

  void track(Channel c) {
    connections.add(c);
  }

  ChannelHandler newHandler() {
    return new Handler();
  }

  /** Closes the HTTP connections (open watches would hold the client listener open) first. */
  @Override
  public void close() {
    connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    channel.shutdownNow();
    server.shutdownNow();
  }

  /** grpc-gateway's runtime.HTTPStatusFromCode, as etcd 3.4/3.5 ship it. */
  static HttpResponseStatus httpStatus(Status.Code code) {
    return switch (code) {
      case OK -> HttpResponseStatus.OK;
      case CANCELLED -> HttpResponseStatus.REQUEST_TIMEOUT;
      case INVALID_ARGUMENT, OUT_OF_RANGE -> HttpResponseStatus.BAD_REQUEST;
      case DEADLINE_EXCEEDED -> HttpResponseStatus.GATEWAY_TIMEOUT;
      case NOT_FOUND -> HttpResponseStatus.NOT_FOUND;
      case ALREADY_EXISTS, ABORTED -> HttpResponseStatus.CONFLICT;
      case PERMISSION_DENIED -> HttpResponseStatus.FORBIDDEN;
      case UNAUTHENTICATED -> HttpResponseStatus.UNAUTHORIZED;
      case RESOURCE_EXHAUSTED -> HttpResponseStatus.TOO_MANY_REQUESTS;
      case FAILED_PRECONDITION -> HttpResponseStatus.PRECONDITION_FAILED;
      case UNIMPLEMENTED -> HttpResponseStatus.NOT_IMPLEMENTED;
      case UNAVAILABLE -> HttpResponseStatus.SERVICE_UNAVAILABLE;
      case UNKNOWN, INTERNAL, DATA_LOSS -> HttpResponseStatus.INTERNAL_SERVER_ERROR;
    };
  }

  /** grpc-gateway's error body: {"error":msg,"message":msg,"code":grpcCode}. */
  static String errorBody(Status status) {
    String msg = quote(status.getDescription() == null ? "" : status.getDescription());
    return "{\"error\":"
        + msg
        + ",\"message\":"
        + msg
        + ",\"code\":"
        + status.getCode().value()
        + "}";
  }

  /** grpc-gateway's error line inside a stream. */
  static String streamErrorLine(Status status) {
    HttpResponseStatus http = httpStatus(status.getCode());
    return "{\"error\":{\"grpc_code\":"
        + status.getCode().value()
        + ",\"http_code\":"
        + http.code()
        + ",\"message\":"
        + quote(status.getDescription() == null ? "" : status.getDescription())
        + ",\"http_status\":"
        + quote(http.reasonPhrase())
        + "}}\n";
  }

  private static String quote(String s) {
    return new com.google.gson.JsonPrimitive(s).toString();
  }

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    /** The gRPC call serving this connection's current request, cancelled if it closes. */
    private ClientCall<Message, Message> current;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      QueryStringDecoder q = new QueryStringDecoder(req.uri());
      String path = q.path();
      SslHandler tls = ctx.pipeline().get(SslHandler.class);
      Reply refused = guard.refuse(tls == null ? null : tls.engine().getSession(), path);
      if (refused != null) {
        send(ctx, refused, keepAlive);
        return;
      }
      Route post = posts.get(path);
      GetRoute get = gets.get(path);
      if (post != null) {
        if (req.method() != HttpMethod.POST) {
          send(
              ctx, Reply.text(HttpResponseStatus.METHOD_NOT_ALLOWED, "Method Not Allowed\n"), true);
          return;
        }
        call(ctx, post, req.content().toString(StandardCharsets.UTF_8), req.headers(), keepAlive);
      } else if (get != null && req.method() == HttpMethod.GET) {
        get.get(q)
            .whenComplete(
                (reply, err) -> {
                  Reply r =
                      err == null
                          ? reply
                          : Reply.text(
                              HttpResponseStatus.INTERNAL_SERVER_ERROR, err.toString() + "\n");
                  send(ctx, r, keepAlive);
                });
      } else {
        // etcd: grpc-gateway's own 404 under /v3/, Go's ServeMux's elsewhere
        String notFound = path.startsWith("/v3/") ? "Not Found\n" : "404 page not found\n";
        send(ctx, Reply.text(HttpResponseStatus.NOT_FOUND, notFound), keepAlive);
      }
    }

    private void call(
        ChannelHandlerContext ctx, Route route, String body, HttpHeaders headers, boolean keep) {
      List<Message> requests = new ArrayList<>();
      try {
        if (route.method().getType().clientSendsOneMessage()) {
          requests.add(parse(route, body));
        } else if (!body.isBlank()) {
          // a client stream: the body holds zero or more JSON objects, one after another (an
          // empty body is none: etcd's gateway half-closes at once and answers an empty 200)
          JsonStreamParser objects = new JsonStreamParser(body);
          while (objects.hasNext()) {
            requests.add(parse(route, objects.next().toString()));
          }
        }
      } catch (InvalidProtocolBufferException | RuntimeException e) {
        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
        Status bad = Status.INVALID_ARGUMENT.withDescription(msg);
        send(ctx, Reply.json(HttpResponseStatus.BAD_REQUEST, errorBody(bad)), keep);
        return;
      }
      Metadata md = new Metadata();
      String auth = headers.get(HttpHeaderNames.AUTHORIZATION);
      if (auth != null) {
        md.put(AUTHORIZATION, auth);
      }
      ClientCall<Message, Message> call =
          channel.newCall(route.method(), CallOptions.DEFAULT.withExecutor(ctx.executor()));
      current = call;
      boolean streaming = !route.method().getType().serverSendsOneMessage();
      call.start(
          streaming ? new StreamReply(ctx, call, keep) : new UnaryReply(ctx, keep, call), md);
      call.request(1);
      for (Message m : requests) {
        call.sendMessage(m);
      }
      call.halfClose();
    }

    private Message parse(Route route, String json) throws InvalidProtocolBufferException {
      Message.Builder b = route.requestPrototype().newBuilderForType();
      if (!json.isBlank()) {
        PARSER.merge(json, b);
      }
      return b.build();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      if (current != null) {
        current.cancel("HTTP client closed the connection", null);
      }
      super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }

    private final class UnaryReply extends ClientCall.Listener<Message> {
      private final ChannelHandlerContext ctx;
      private final boolean keep;
      private final ClientCall<Message, Message> call;
      private Message response;

      UnaryReply(ChannelHandlerContext ctx, boolean keep, ClientCall<Message, Message> call) {
        this.ctx = ctx;
        this.keep = keep;
        this.call = call;
      }

      @Override
      public void onMessage(Message message) {
        response = message;
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        if (current == call) {
          current = null;
        }
        if (status.isOk() && response != null) {
          send(ctx, Reply.json(HttpResponseStatus.OK, print(response)), keep);
        } else {
          Status s = status.isOk() ? Status.INTERNAL.withDescription("no response") : status;
          send(ctx, Reply.json(httpStatus(s.getCode()), errorBody(s)), keep);
        }
      }
    }

    /** A streamed reply: one {"result":...} line per message, grpc-gateway's chunked stream. */
    private final class StreamReply extends ClientCall.Listener<Message> {
      private final ChannelHandlerContext ctx;
      private final ClientCall<Message, Message> call;
      private final boolean keep;
      private boolean started;

      StreamReply(ChannelHandlerContext ctx, ClientCall<Message, Message> call, boolean keep) {
        this.ctx = ctx;
        this.call = call;
        this.keep = keep;
      }

      private void start() {
        if (!started) {
          started = true;
          HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
          head.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
          corsHeaders(head.headers());
          HttpUtil.setTransferEncodingChunked(head, true);
          ctx.write(head);
        }
      }

      @Override
      public void onMessage(Message message) {
        start();
        String line = "{\"result\":" + print(message) + "}\n";
        // one message in flight: the next is requested once this one left (backpressure)
        ctx.writeAndFlush(
                new DefaultHttpContent(Unpooled.copiedBuffer(line, StandardCharsets.UTF_8)))
            .addListener(
                f -> {
                  if (f.isSuccess()) {
                    call.request(1);
                  }
                });
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        if (current == call) {
          current = null;
        }
        if (!ctx.channel().isActive()) {
          return;
        }
        start();
        if (!status.isOk()) {
          ctx.write(
              new DefaultHttpContent(
                  Unpooled.copiedBuffer(streamErrorLine(status), StandardCharsets.UTF_8)));
        }
        var f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        if (!keep) {
          f.addListener(ChannelFutureListener.CLOSE);
        }
      }
    }
  }

  private static String print(Message m) {
    try {
      return PRINTER.print(m);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  /** etcd answers every HTTP request with these (its client port's CORS handler). */
  private static void corsHeaders(HttpHeaders h) {
    h.set("Access-Control-Allow-Origin", "*");
    h.set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE");
    h.set("Access-Control-Allow-Headers", "accept, content-type, authorization");
  }

  private static void send(ChannelHandlerContext ctx, Reply r, boolean keepAlive) {
    byte[] body = r.body().getBytes(StandardCharsets.UTF_8);
    FullHttpResponse resp =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, r.status(), Unpooled.wrappedBuffer(body));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    corsHeaders(resp.headers());
    var f = ctx.writeAndFlush(resp);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }
}
