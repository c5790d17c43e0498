package io.etch.api.build;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes grpc-java stubs ({@code <Service>Grpc} classes) for every service in a protoc descriptor
 * set. Runs in the build (Java source-launch mode, see etch-api/pom.xml) because grpc-java's native
 * protoc plugin binary is not served by our Maven repository.
 *
 * <p>The output has the public shape of grpc-java's own generator, so callers write the familiar
 * {@code KVGrpc.newBlockingStub(channel)} and {@code extends KVGrpc.KVImplBase}, and the official
 * plugin can replace this class without touching them: {@code SERVICE_NAME}, {@code
 * get<Method>Method()}, {@code getServiceDescriptor()}, {@code bindService(AsyncService)}, the
 * {@code AsyncService} interface, {@code <Service>ImplBase}, and async, blocking and future stubs.
 *
 * <p>Usage: {@code java -cp <protobuf-java> GrpcStubGenerator.java <descriptor-set> <out-dir>}.
 * Every file in the set must set {@code java_package}, {@code java_multiple_files} and {@code
 * java_outer_classname}.
 */
public final class GrpcStubGenerator {

  private GrpcStubGenerator() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      throw new IllegalArgumentException("usage: GrpcStubGenerator <descriptor-set> <out-dir>");
    }
    FileDescriptorSet set;
    try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
      set = FileDescriptorSet.parseFrom(in);
    }
    Path outDir = Path.of(args[1]);
    Map<String, String> javaNames = new HashMap<>();
    for (FileDescriptorProto file : set.getFileList()) {
      checkOptions(file);
      for (DescriptorProto message : file.getMessageTypeList()) {
        indexMessage(
            javaNames, "." + file.getPackage(), file.getOptions().getJavaPackage(), message);
      }
    }
    int written = 0;
    for (FileDescriptorProto file : set.getFileList()) {
      for (ServiceDescriptorProto service : file.getServiceList()) {
        String javaPackage = file.getOptions().getJavaPackage();
        String source = new ServiceWriter(file, service, javaNames).write();
        Path target =
            outDir.resolve(javaPackage.replace('.', '/')).resolve(service.getName() + "Grpc.java");
        Files.createDirectories(target.getParent());
        Files.writeString(target, source);
        written++;
      }
    }
    System.out.println("[etch] wrote " + written + " gRPC service stubs to " + outDir);
  }

  private static void checkOptions(FileDescriptorProto file) {
    var o = file.getOptions();
    if (!o.hasJavaPackage() || !o.getJavaMultipleFiles() || !o.hasJavaOuterClassname()) {
      throw new IllegalArgumentException(
          file.getName()
              + ": set java_package, java_multiple_files = true and java_outer_classname");
    }
  }

  /** Maps a proto full name (".pkg.Outer.Inner") to its Java class name (multiple-files layout). */
  private static void indexMessage(
      Map<String, String> names, String protoScope, String javaScope, DescriptorProto message) {
    String proto = protoScope + "." + message.getName();
    String java = javaScope + "." + message.getName();
    names.put(proto, java);
    for (DescriptorProto nested : message.getNestedTypeList()) {
      indexMessage(names, proto, java, nested);
    }
  }

  private enum Kind {
    UNARY("UNARY", "Unary"),
    CLIENT_STREAMING("CLIENT_STREAMING", "ClientStreaming"),
    SERVER_STREAMING("SERVER_STREAMING", "ServerStreaming"),
    BIDI_STREAMING("BIDI_STREAMING", "BidiStreaming");

    final String grpcType;
    final String callName;

    Kind(String grpcType, String callName) {
      this.grpcType = grpcType;
      this.callName = callName;
    }

    static Kind of(MethodDescriptorProto m) {
      if (m.getClientStreaming()) {
        return m.getServerStreaming() ? BIDI_STREAMING : CLIENT_STREAMING;
      }
      return m.getServerStreaming() ? SERVER_STREAMING : UNARY;
    }

    /** Whether the server handler takes a request (rather than returning a request observer). */
    boolean singleRequest() {
      return this == UNARY || this == SERVER_STREAMING;
    }
  }

  private record Method(
      MethodDescriptorProto proto, Kind kind, String javaName, String req, String resp, int id) {
    String getter() {
      return "get" + proto.getName() + "Method";
    }

    String idConstant() {
      return "METHODID_" + upperSnake(proto.getName());
    }
  }

  private static final class ServiceWriter {
    private final FileDescriptorProto file;
    private final ServiceDescriptorProto service;
    private final String name;
    private final String fullName;
    private final List<Method> methods;
    private final StringBuilder out = new StringBuilder();

    ServiceWriter(
        FileDescriptorProto file, ServiceDescriptorProto service, Map<String, String> javaNames) {
      this.file = file;
      this.service = service;
      this.name = service.getName();
      this.fullName =
          file.getPackage().isEmpty() ? name : file.getPackage() + "." + service.getName();
      List<MethodDescriptorProto> protos = service.getMethodList();
      this.methods =
          java.util.stream.IntStream.range(0, protos.size())
              .mapToObj(
                  i -> {
                    MethodDescriptorProto m = protos.get(i);
                    return new Method(
                        m,
                        Kind.of(m),
                        lowerCamel(m.getName()),
                        javaType(javaNames, m.getInputType()),
                        javaType(javaNames, m.getOutputType()),
                        i);
                  })
              .toList();
    }

    private static String javaType(Map<String, String> javaNames, String protoType) {
      String java = javaNames.get(protoType);
      if (java == null) {
        throw new IllegalArgumentException("unknown message type " + protoType);
      }
      return java;
    }

    private void line(String s) {
      out.append(s).append('\n');
    }

    String write() {
      String outer =
          file.getOptions().getJavaPackage() + "." + file.getOptions().getJavaOuterClassname();
      line("// Generated by etch's GrpcStubGenerator from " + file.getName() + ". Do not edit.");
      line("package " + file.getOptions().getJavaPackage() + ";");
      line("");
      line("/** gRPC stubs for the {@code " + fullName + "} service. */");
      line("@io.grpc.stub.annotations.GrpcGenerated");
      line("public final class " + name + "Grpc {");
      line("");
      line("  private " + name + "Grpc() {}");
      line("");
      line("  public static final java.lang.String SERVICE_NAME = \"" + fullName + "\";");
      line("");
      writeMethodDescriptors();
      writeServiceDescriptor();
      writeStubFactories();
      writeAsyncService();
      writeImplBase();
      writeAsyncStub();
      writeBlockingStub();
      writeFutureStub();
      writeHandlers();
      writeBindService();
      writeSchemaSuppliers(outer);
      line("}");
      return out.toString();
    }

    private String md(Method m) {
      return "io.grpc.MethodDescriptor<" + m.req() + ", " + m.resp() + ">";
    }

    private void writeMethodDescriptors() {
      for (Method m : methods) {
        String field = m.getter().substring(3, 4).toLowerCase() + m.getter().substring(4);
        line("  private static volatile " + md(m) + " " + field + ";");
        line("");
        line("  @io.grpc.stub.annotations.RpcMethod(");
        line("      fullMethodName = SERVICE_NAME + '/' + \"" + m.proto().getName() + "\",");
        line("      requestType = " + m.req() + ".class,");
        line("      responseType = " + m.resp() + ".class,");
        line("      methodType = io.grpc.MethodDescriptor.MethodType." + m.kind().grpcType + ")");
        line("  public static " + md(m) + " " + m.getter() + "() {");
        line("    " + md(m) + " result = " + field + ";");
        line("    if (result == null) {");
        line("      synchronized (" + name + "Grpc.class) {");
        line("        result = " + field + ";");
        line("        if (result == null) {");
        line("          " + field + " = result =");
        line(
            "              io.grpc.MethodDescriptor.<"
                + m.req()
                + ", "
                + m.resp()
                + ">newBuilder()");
        line(
            "                  .setType(io.grpc.MethodDescriptor.MethodType."
                + m.kind().grpcType
                + ")");
        line(
            "                  .setFullMethodName(io.grpc.MethodDescriptor.generateFullMethodName(SERVICE_NAME, \""
                + m.proto().getName()
                + "\"))");
        line("                  .setSampledToLocalTracing(true)");
        line(
            "                  .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller("
                + m.req()
                + ".getDefaultInstance()))");
        line(
            "                  .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller("
                + m.resp()
                + ".getDefaultInstance()))");
        line(
            "                  .setSchemaDescriptor(new "
                + name
                + "MethodDescriptorSupplier(\""
                + m.proto().getName()
                + "\"))");
        line("                  .build();");
        line("        }");
        line("      }");
        line("    }");
        line("    return result;");
        line("  }");
        line("");
      }
    }

    private void writeServiceDescriptor() {
      line("  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;");
      line("");
      line("  public static io.grpc.ServiceDescriptor getServiceDescriptor() {");
      line("    io.grpc.ServiceDescriptor result = serviceDescriptor;");
      line("    if (result == null) {");
      line("      synchronized (" + name + "Grpc.class) {");
      line("        result = serviceDescriptor;");
      line("        if (result == null) {");
      line("          serviceDescriptor = result =");
      line("              io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)");
      line("                  .setSchemaDescriptor(new " + name + "FileDescriptorSupplier())");
      for (Method m : methods) {
        line("                  .addMethod(" + m.getter() + "())");
      }
      line("                  .build();");
      line("        }");
      line("      }");
      line("    }");
      line("    return result;");
      line("  }");
      line("");
    }

    private void writeStubFactories() {
      for (String flavour : List.of("", "Blocking", "Future")) {
        String stub = name + flavour + "Stub";
        line(
            "  /** Creates a new "
                + (flavour.isEmpty() ? "async" : flavour.toLowerCase())
                + " stub. */");
        line("  public static " + stub + " new" + flavour + "Stub(io.grpc.Channel channel) {");
        line("    io.grpc.stub.AbstractStub.StubFactory<" + stub + "> factory =");
        line("        new io.grpc.stub.AbstractStub.StubFactory<" + stub + ">() {");
        line("          @java.lang.Override");
        line(
            "          public "
                + stub
                + " newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {");
        line("            return new " + stub + "(channel, callOptions);");
        line("          }");
        line("        };");
        line("    return " + stub + ".newStub(factory, channel);");
        line("  }");
        line("");
      }
    }

    private String observer(String type) {
      return "io.grpc.stub.StreamObserver<" + type + ">";
    }

    private void writeAsyncService() {
      line("  /** The server side: implement the methods this member serves. */");
      line("  public interface AsyncService {");
      for (Method m : methods) {
        line("");
        if (m.kind().singleRequest()) {
          line(
              "    default void "
                  + m.javaName()
                  + "("
                  + m.req()
                  + " request, "
                  + observer(m.resp())
                  + " responseObserver) {");
          line(
              "      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall("
                  + m.getter()
                  + "(), responseObserver);");
        } else {
          line(
              "    default "
                  + observer(m.req())
                  + " "
                  + m.javaName()
                  + "("
                  + observer(m.resp())
                  + " responseObserver) {");
          line(
              "      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall("
                  + m.getter()
                  + "(), responseObserver);");
        }
        line("    }");
      }
      line("  }");
      line("");
    }

    private void writeImplBase() {
      line("  /** Base class for the server side of {@code " + fullName + "}. */");
      line(
          "  public abstract static class "
              + name
              + "ImplBase implements io.grpc.BindableService, AsyncService {");
      line("    @java.lang.Override");
      line("    public final io.grpc.ServerServiceDefinition bindService() {");
      line("      return " + name + "Grpc.bindService(this);");
      line("    }");
      line("  }");
      line("");
    }

    private void stubHeader(String stub, String base) {
      line("  public static final class " + stub + " extends " + base + "<" + stub + "> {");
      line("    private " + stub + "(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {");
      line("      super(channel, callOptions);");
      line("    }");
      line("");
      line("    @java.lang.Override");
      line(
          "    protected "
              + stub
              + " build(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {");
      line("      return new " + stub + "(channel, callOptions);");
      line("    }");
    }

    private String newCall(Method m) {
      return "getChannel().newCall(" + m.getter() + "(), getCallOptions())";
    }

    private void writeAsyncStub() {
      stubHeader(name + "Stub", "io.grpc.stub.AbstractAsyncStub");
      for (Method m : methods) {
        line("");
        if (m.kind().singleRequest()) {
          line(
              "    public void "
                  + m.javaName()
                  + "("
                  + m.req()
                  + " request, "
                  + observer(m.resp())
                  + " responseObserver) {");
          line(
              "      io.grpc.stub.ClientCalls.async"
                  + m.kind().callName
                  + "Call("
                  + newCall(m)
                  + ", request, responseObserver);");
        } else {
          line(
              "    public "
                  + observer(m.req())
                  + " "
                  + m.javaName()
                  + "("
                  + observer(m.resp())
                  + " responseObserver) {");
          line(
              "      return io.grpc.stub.ClientCalls.async"
                  + m.kind().callName
                  + "Call("
                  + newCall(m)
                  + ", responseObserver);");
        }
        line("    }");
      }
      line("  }");
      line("");
    }

    private void writeBlockingStub() {
      stubHeader(name + "BlockingStub", "io.grpc.stub.AbstractBlockingStub");
      for (Method m : methods) {
        if (m.kind() == Kind.UNARY) {
          line("");
          line("    public " + m.resp() + " " + m.javaName() + "(" + m.req() + " request) {");
          line(
              "      return io.grpc.stub.ClientCalls.blockingUnaryCall(getChannel(), "
                  + m.getter()
                  + "(), getCallOptions(), request);");
          line("    }");
        } else if (m.kind() == Kind.SERVER_STREAMING) {
          line("");
          line(
              "    public java.util.Iterator<"
                  + m.resp()
                  + "> "
                  + m.javaName()
                  + "("
                  + m.req()
                  + " request) {");
          line(
              "      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(getChannel(), "
                  + m.getter()
                  + "(), getCallOptions(), request);");
          line("    }");
        }
      }
      line("  }");
      line("");
    }

    private void writeFutureStub() {
      stubHeader(name + "FutureStub", "io.grpc.stub.AbstractFutureStub");
      for (Method m : methods) {
        if (m.kind() == Kind.UNARY) {
          line("");
          line(
              "    public com.google.common.util.concurrent.ListenableFuture<"
                  + m.resp()
                  + "> "
                  + m.javaName()
                  + "("
                  + m.req()
                  + " request) {");
          line(
              "      return io.grpc.stub.ClientCalls.futureUnaryCall("
                  + newCall(m)
                  + ", request);");
          line("    }");
        }
      }
      line("  }");
      line("");
    }

    private void writeHandlers() {
      for (Method m : methods) {
        line("  private static final int " + m.idConstant() + " = " + m.id() + ";");
      }
      line("");
      line("  private static final class MethodHandlers<Req, Resp>");
      line("      implements io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,");
      line("          io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,");
      line("          io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,");
      line("          io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {");
      line("    private final AsyncService serviceImpl;");
      line("    private final int methodId;");
      line("");
      line("    MethodHandlers(AsyncService serviceImpl, int methodId) {");
      line("      this.serviceImpl = serviceImpl;");
      line("      this.methodId = methodId;");
      line("    }");
      line("");
      line("    @java.lang.Override");
      line("    @java.lang.SuppressWarnings(\"unchecked\")");
      line(
          "    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {");
      line("      switch (methodId) {");
      for (Method m : methods) {
        if (m.kind().singleRequest()) {
          line("        case " + m.idConstant() + ":");
          line(
              "          serviceImpl."
                  + m.javaName()
                  + "(("
                  + m.req()
                  + ") request, ("
                  + observer(m.resp())
                  + ") responseObserver);");
          line("          break;");
        }
      }
      line("        default:");
      line("          throw new java.lang.AssertionError();");
      line("      }");
      line("    }");
      line("");
      line("    @java.lang.Override");
      line("    @java.lang.SuppressWarnings(\"unchecked\")");
      line(
          "    public io.grpc.stub.StreamObserver<Req> invoke(io.grpc.stub.StreamObserver<Resp> responseObserver) {");
      line("      switch (methodId) {");
      for (Method m : methods) {
        if (!m.kind().singleRequest()) {
          line("        case " + m.idConstant() + ":");
          line(
              "          return (io.grpc.stub.StreamObserver<Req>) serviceImpl."
                  + m.javaName()
                  + "(("
                  + observer(m.resp())
                  + ") responseObserver);");
        }
      }
      line("        default:");
      line("          throw new java.lang.AssertionError();");
      line("      }");
      line("    }");
      line("  }");
      line("");
    }

    private void writeBindService() {
      line("  public static io.grpc.ServerServiceDefinition bindService(AsyncService service) {");
      line("    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())");
      for (Method m : methods) {
        line("        .addMethod(");
        line("            " + m.getter() + "(),");
        line(
            "            io.grpc.stub.ServerCalls.async"
                + m.kind().callName
                + "Call(new MethodHandlers<"
                + m.req()
                + ", "
                + m.resp()
                + ">(service, "
                + m.idConstant()
                + ")))");
      }
      line("        .build();");
      line("  }");
      line("");
    }

    private void writeSchemaSuppliers(String outer) {
      line("  private abstract static class " + name + "BaseDescriptorSupplier");
      line("      implements io.grpc.protobuf.ProtoFileDescriptorSupplier,");
      line("          io.grpc.protobuf.ProtoServiceDescriptorSupplier {");
      line("    @java.lang.Override");
      line("    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {");
      line("      return " + outer + ".getDescriptor();");
      line("    }");
      line("");
      line("    @java.lang.Override");
      line("    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {");
      line("      return getFileDescriptor().findServiceByName(\"" + service.getName() + "\");");
      line("    }");
      line("  }");
      line("");
      line(
          "  private static final class "
              + name
              + "FileDescriptorSupplier extends "
              + name
              + "BaseDescriptorSupplier {}");
      line("");
      line("  private static final class " + name + "MethodDescriptorSupplier");
      line("      extends " + name + "BaseDescriptorSupplier");
      line("      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {");
      line("    private final java.lang.String methodName;");
      line("");
      line("    " + name + "MethodDescriptorSupplier(java.lang.String methodName) {");
      line("      this.methodName = methodName;");
      line("    }");
      line("");
      line("    @java.lang.Override");
      line("    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {");
      line("      return getServiceDescriptor().findMethodByName(methodName);");
      line("    }");
      line("  }");
    }
  }

  /** "LeaseKeepAlive" -> "leaseKeepAlive", "HashKV" -> "hashKV", "do_thing" -> "doThing". */
  static String lowerCamel(String protoName) {
    StringBuilder sb = new StringBuilder();
    boolean upperNext = false;
    for (int i = 0; i < protoName.length(); i++) {
      char c = protoName.charAt(i);
      if (c == '_') {
        upperNext = true;
      } else if (sb.length() == 0) {
        sb.append(Character.toLowerCase(c));
      } else {
        sb.append(upperNext ? Character.toUpperCase(c) : c);
        upperNext = false;
      }
    }
    return sb.toString();
  }

  /** "LeaseKeepAlive" -> "LEASE_KEEP_ALIVE", "HashKV" -> "HASH_KV". */
  static String upperSnake(String protoName) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < protoName.length(); i++) {
      char c = protoName.charAt(i);
      if (Character.isUpperCase(c)
          && i > 0
          && !Character.isUpperCase(protoName.charAt(i - 1))
          && protoName.charAt(i - 1) != '_') {
        sb.append('_');
      }
      sb.append(Character.toUpperCase(c));
    }
    return sb.toString();
  }
}
