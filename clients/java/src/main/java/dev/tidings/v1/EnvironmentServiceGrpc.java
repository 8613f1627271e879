package dev.tidings.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * EnvironmentService keeps named environments (Mistral's environments): sets
 * of variables an execution started with StartExecution.environment reads
 * through env(). The variables are copied into the execution when it
 * starts: changing or deleting the environment later does not change it.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class EnvironmentServiceGrpc {

  private EnvironmentServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "tidings.v1.EnvironmentService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.CreateEnvironmentRequest,
      dev.tidings.v1.CreateEnvironmentResponse> getCreateEnvironmentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateEnvironment",
      requestType = dev.tidings.v1.CreateEnvironmentRequest.class,
      responseType = dev.tidings.v1.CreateEnvironmentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.CreateEnvironmentRequest,
      dev.tidings.v1.CreateEnvironmentResponse> getCreateEnvironmentMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.CreateEnvironmentRequest, dev.tidings.v1.CreateEnvironmentResponse> getCreateEnvironmentMethod;
    if ((getCreateEnvironmentMethod = EnvironmentServiceGrpc.getCreateEnvironmentMethod) == null) {
      synchronized (EnvironmentServiceGrpc.class) {
        if ((getCreateEnvironmentMethod = EnvironmentServiceGrpc.getCreateEnvironmentMethod) == null) {
          EnvironmentServiceGrpc.getCreateEnvironmentMethod = getCreateEnvironmentMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.CreateEnvironmentRequest, dev.tidings.v1.CreateEnvironmentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateEnvironment"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CreateEnvironmentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CreateEnvironmentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new EnvironmentServiceMethodDescriptorSupplier("CreateEnvironment"))
              .build();
        }
      }
    }
    return getCreateEnvironmentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.GetEnvironmentRequest,
      dev.tidings.v1.GetEnvironmentResponse> getGetEnvironmentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetEnvironment",
      requestType = dev.tidings.v1.GetEnvironmentRequest.class,
      responseType = dev.tidings.v1.GetEnvironmentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.GetEnvironmentRequest,
      dev.tidings.v1.GetEnvironmentResponse> getGetEnvironmentMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.GetEnvironmentRequest, dev.tidings.v1.GetEnvironmentResponse> getGetEnvironmentMethod;
    if ((getGetEnvironmentMethod = EnvironmentServiceGrpc.getGetEnvironmentMethod) == null) {
      synchronized (EnvironmentServiceGrpc.class) {
        if ((getGetEnvironmentMethod = EnvironmentServiceGrpc.getGetEnvironmentMethod) == null) {
          EnvironmentServiceGrpc.getGetEnvironmentMethod = getGetEnvironmentMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.GetEnvironmentRequest, dev.tidings.v1.GetEnvironmentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetEnvironment"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.GetEnvironmentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.GetEnvironmentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new EnvironmentServiceMethodDescriptorSupplier("GetEnvironment"))
              .build();
        }
      }
    }
    return getGetEnvironmentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.ListEnvironmentsRequest,
      dev.tidings.v1.ListEnvironmentsResponse> getListEnvironmentsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListEnvironments",
      requestType = dev.tidings.v1.ListEnvironmentsRequest.class,
      responseType = dev.tidings.v1.ListEnvironmentsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.ListEnvironmentsRequest,
      dev.tidings.v1.ListEnvironmentsResponse> getListEnvironmentsMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.ListEnvironmentsRequest, dev.tidings.v1.ListEnvironmentsResponse> getListEnvironmentsMethod;
    if ((getListEnvironmentsMethod = EnvironmentServiceGrpc.getListEnvironmentsMethod) == null) {
      synchronized (EnvironmentServiceGrpc.class) {
        if ((getListEnvironmentsMethod = EnvironmentServiceGrpc.getListEnvironmentsMethod) == null) {
          EnvironmentServiceGrpc.getListEnvironmentsMethod = getListEnvironmentsMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.ListEnvironmentsRequest, dev.tidings.v1.ListEnvironmentsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListEnvironments"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListEnvironmentsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListEnvironmentsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new EnvironmentServiceMethodDescriptorSupplier("ListEnvironments"))
              .build();
        }
      }
    }
    return getListEnvironmentsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.UpdateEnvironmentRequest,
      dev.tidings.v1.UpdateEnvironmentResponse> getUpdateEnvironmentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateEnvironment",
      requestType = dev.tidings.v1.UpdateEnvironmentRequest.class,
      responseType = dev.tidings.v1.UpdateEnvironmentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.UpdateEnvironmentRequest,
      dev.tidings.v1.UpdateEnvironmentResponse> getUpdateEnvironmentMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.UpdateEnvironmentRequest, dev.tidings.v1.UpdateEnvironmentResponse> getUpdateEnvironmentMethod;
    if ((getUpdateEnvironmentMethod = EnvironmentServiceGrpc.getUpdateEnvironmentMethod) == null) {
      synchronized (EnvironmentServiceGrpc.class) {
        if ((getUpdateEnvironmentMethod = EnvironmentServiceGrpc.getUpdateEnvironmentMethod) == null) {
          EnvironmentServiceGrpc.getUpdateEnvironmentMethod = getUpdateEnvironmentMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.UpdateEnvironmentRequest, dev.tidings.v1.UpdateEnvironmentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateEnvironment"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.UpdateEnvironmentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.UpdateEnvironmentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new EnvironmentServiceMethodDescriptorSupplier("UpdateEnvironment"))
              .build();
        }
      }
    }
    return getUpdateEnvironmentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.DeleteEnvironmentRequest,
      dev.tidings.v1.DeleteEnvironmentResponse> getDeleteEnvironmentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteEnvironment",
      requestType = dev.tidings.v1.DeleteEnvironmentRequest.class,
      responseType = dev.tidings.v1.DeleteEnvironmentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.DeleteEnvironmentRequest,
      dev.tidings.v1.DeleteEnvironmentResponse> getDeleteEnvironmentMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.DeleteEnvironmentRequest, dev.tidings.v1.DeleteEnvironmentResponse> getDeleteEnvironmentMethod;
    if ((getDeleteEnvironmentMethod = EnvironmentServiceGrpc.getDeleteEnvironmentMethod) == null) {
      synchronized (EnvironmentServiceGrpc.class) {
        if ((getDeleteEnvironmentMethod = EnvironmentServiceGrpc.getDeleteEnvironmentMethod) == null) {
          EnvironmentServiceGrpc.getDeleteEnvironmentMethod = getDeleteEnvironmentMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.DeleteEnvironmentRequest, dev.tidings.v1.DeleteEnvironmentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteEnvironment"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.DeleteEnvironmentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.DeleteEnvironmentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new EnvironmentServiceMethodDescriptorSupplier("DeleteEnvironment"))
              .build();
        }
      }
    }
    return getDeleteEnvironmentMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static EnvironmentServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EnvironmentServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EnvironmentServiceStub>() {
        @java.lang.Override
        public EnvironmentServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EnvironmentServiceStub(channel, callOptions);
        }
      };
    return EnvironmentServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static EnvironmentServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EnvironmentServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EnvironmentServiceBlockingV2Stub>() {
        @java.lang.Override
        public EnvironmentServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EnvironmentServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return EnvironmentServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static EnvironmentServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EnvironmentServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EnvironmentServiceBlockingStub>() {
        @java.lang.Override
        public EnvironmentServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EnvironmentServiceBlockingStub(channel, callOptions);
        }
      };
    return EnvironmentServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static EnvironmentServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EnvironmentServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EnvironmentServiceFutureStub>() {
        @java.lang.Override
        public EnvironmentServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EnvironmentServiceFutureStub(channel, callOptions);
        }
      };
    return EnvironmentServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * EnvironmentService keeps named environments (Mistral's environments): sets
   * of variables an execution started with StartExecution.environment reads
   * through env(). The variables are copied into the execution when it
   * starts: changing or deleting the environment later does not change it.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Creates a named environment; ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    default void createEnvironment(dev.tidings.v1.CreateEnvironmentRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CreateEnvironmentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateEnvironmentMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns an environment by name.
     * </pre>
     */
    default void getEnvironment(dev.tidings.v1.GetEnvironmentRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.GetEnvironmentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetEnvironmentMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns a page of environments, in creation order.
     * </pre>
     */
    default void listEnvironments(dev.tidings.v1.ListEnvironmentsRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListEnvironmentsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListEnvironmentsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes an environment's description or variables (update_mask, AIP-134).
     * </pre>
     */
    default void updateEnvironment(dev.tidings.v1.UpdateEnvironmentRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.UpdateEnvironmentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateEnvironmentMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes an environment; executions started with it keep their copy.
     * </pre>
     */
    default void deleteEnvironment(dev.tidings.v1.DeleteEnvironmentRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.DeleteEnvironmentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteEnvironmentMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service EnvironmentService.
   * <pre>
   * EnvironmentService keeps named environments (Mistral's environments): sets
   * of variables an execution started with StartExecution.environment reads
   * through env(). The variables are copied into the execution when it
   * starts: changing or deleting the environment later does not change it.
   * </pre>
   */
  public static abstract class EnvironmentServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return EnvironmentServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service EnvironmentService.
   * <pre>
   * EnvironmentService keeps named environments (Mistral's environments): sets
   * of variables an execution started with StartExecution.environment reads
   * through env(). The variables are copied into the execution when it
   * starts: changing or deleting the environment later does not change it.
   * </pre>
   */
  public static final class EnvironmentServiceStub
      extends io.grpc.stub.AbstractAsyncStub<EnvironmentServiceStub> {
    private EnvironmentServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EnvironmentServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EnvironmentServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a named environment; ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    public void createEnvironment(dev.tidings.v1.CreateEnvironmentRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CreateEnvironmentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateEnvironmentMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns an environment by name.
     * </pre>
     */
    public void getEnvironment(dev.tidings.v1.GetEnvironmentRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.GetEnvironmentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetEnvironmentMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns a page of environments, in creation order.
     * </pre>
     */
    public void listEnvironments(dev.tidings.v1.ListEnvironmentsRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListEnvironmentsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListEnvironmentsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes an environment's description or variables (update_mask, AIP-134).
     * </pre>
     */
    public void updateEnvironment(dev.tidings.v1.UpdateEnvironmentRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.UpdateEnvironmentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateEnvironmentMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes an environment; executions started with it keep their copy.
     * </pre>
     */
    public void deleteEnvironment(dev.tidings.v1.DeleteEnvironmentRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.DeleteEnvironmentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteEnvironmentMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service EnvironmentService.
   * <pre>
   * EnvironmentService keeps named environments (Mistral's environments): sets
   * of variables an execution started with StartExecution.environment reads
   * through env(). The variables are copied into the execution when it
   * starts: changing or deleting the environment later does not change it.
   * </pre>
   */
  public static final class EnvironmentServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<EnvironmentServiceBlockingV2Stub> {
    private EnvironmentServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EnvironmentServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EnvironmentServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a named environment; ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    public dev.tidings.v1.CreateEnvironmentResponse createEnvironment(dev.tidings.v1.CreateEnvironmentRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateEnvironmentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns an environment by name.
     * </pre>
     */
    public dev.tidings.v1.GetEnvironmentResponse getEnvironment(dev.tidings.v1.GetEnvironmentRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetEnvironmentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of environments, in creation order.
     * </pre>
     */
    public dev.tidings.v1.ListEnvironmentsResponse listEnvironments(dev.tidings.v1.ListEnvironmentsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListEnvironmentsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes an environment's description or variables (update_mask, AIP-134).
     * </pre>
     */
    public dev.tidings.v1.UpdateEnvironmentResponse updateEnvironment(dev.tidings.v1.UpdateEnvironmentRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdateEnvironmentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes an environment; executions started with it keep their copy.
     * </pre>
     */
    public dev.tidings.v1.DeleteEnvironmentResponse deleteEnvironment(dev.tidings.v1.DeleteEnvironmentRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteEnvironmentMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service EnvironmentService.
   * <pre>
   * EnvironmentService keeps named environments (Mistral's environments): sets
   * of variables an execution started with StartExecution.environment reads
   * through env(). The variables are copied into the execution when it
   * starts: changing or deleting the environment later does not change it.
   * </pre>
   */
  public static final class EnvironmentServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<EnvironmentServiceBlockingStub> {
    private EnvironmentServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EnvironmentServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EnvironmentServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a named environment; ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    public dev.tidings.v1.CreateEnvironmentResponse createEnvironment(dev.tidings.v1.CreateEnvironmentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateEnvironmentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns an environment by name.
     * </pre>
     */
    public dev.tidings.v1.GetEnvironmentResponse getEnvironment(dev.tidings.v1.GetEnvironmentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetEnvironmentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of environments, in creation order.
     * </pre>
     */
    public dev.tidings.v1.ListEnvironmentsResponse listEnvironments(dev.tidings.v1.ListEnvironmentsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListEnvironmentsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes an environment's description or variables (update_mask, AIP-134).
     * </pre>
     */
    public dev.tidings.v1.UpdateEnvironmentResponse updateEnvironment(dev.tidings.v1.UpdateEnvironmentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateEnvironmentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes an environment; executions started with it keep their copy.
     * </pre>
     */
    public dev.tidings.v1.DeleteEnvironmentResponse deleteEnvironment(dev.tidings.v1.DeleteEnvironmentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteEnvironmentMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service EnvironmentService.
   * <pre>
   * EnvironmentService keeps named environments (Mistral's environments): sets
   * of variables an execution started with StartExecution.environment reads
   * through env(). The variables are copied into the execution when it
   * starts: changing or deleting the environment later does not change it.
   * </pre>
   */
  public static final class EnvironmentServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<EnvironmentServiceFutureStub> {
    private EnvironmentServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EnvironmentServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EnvironmentServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a named environment; ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.CreateEnvironmentResponse> createEnvironment(
        dev.tidings.v1.CreateEnvironmentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateEnvironmentMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns an environment by name.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.GetEnvironmentResponse> getEnvironment(
        dev.tidings.v1.GetEnvironmentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetEnvironmentMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns a page of environments, in creation order.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.ListEnvironmentsResponse> listEnvironments(
        dev.tidings.v1.ListEnvironmentsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListEnvironmentsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes an environment's description or variables (update_mask, AIP-134).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.UpdateEnvironmentResponse> updateEnvironment(
        dev.tidings.v1.UpdateEnvironmentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateEnvironmentMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes an environment; executions started with it keep their copy.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.DeleteEnvironmentResponse> deleteEnvironment(
        dev.tidings.v1.DeleteEnvironmentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteEnvironmentMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_ENVIRONMENT = 0;
  private static final int METHODID_GET_ENVIRONMENT = 1;
  private static final int METHODID_LIST_ENVIRONMENTS = 2;
  private static final int METHODID_UPDATE_ENVIRONMENT = 3;
  private static final int METHODID_DELETE_ENVIRONMENT = 4;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_ENVIRONMENT:
          serviceImpl.createEnvironment((dev.tidings.v1.CreateEnvironmentRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.CreateEnvironmentResponse>) responseObserver);
          break;
        case METHODID_GET_ENVIRONMENT:
          serviceImpl.getEnvironment((dev.tidings.v1.GetEnvironmentRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.GetEnvironmentResponse>) responseObserver);
          break;
        case METHODID_LIST_ENVIRONMENTS:
          serviceImpl.listEnvironments((dev.tidings.v1.ListEnvironmentsRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.ListEnvironmentsResponse>) responseObserver);
          break;
        case METHODID_UPDATE_ENVIRONMENT:
          serviceImpl.updateEnvironment((dev.tidings.v1.UpdateEnvironmentRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.UpdateEnvironmentResponse>) responseObserver);
          break;
        case METHODID_DELETE_ENVIRONMENT:
          serviceImpl.deleteEnvironment((dev.tidings.v1.DeleteEnvironmentRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.DeleteEnvironmentResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getCreateEnvironmentMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.CreateEnvironmentRequest,
              dev.tidings.v1.CreateEnvironmentResponse>(
                service, METHODID_CREATE_ENVIRONMENT)))
        .addMethod(
          getGetEnvironmentMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.GetEnvironmentRequest,
              dev.tidings.v1.GetEnvironmentResponse>(
                service, METHODID_GET_ENVIRONMENT)))
        .addMethod(
          getListEnvironmentsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.ListEnvironmentsRequest,
              dev.tidings.v1.ListEnvironmentsResponse>(
                service, METHODID_LIST_ENVIRONMENTS)))
        .addMethod(
          getUpdateEnvironmentMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.UpdateEnvironmentRequest,
              dev.tidings.v1.UpdateEnvironmentResponse>(
                service, METHODID_UPDATE_ENVIRONMENT)))
        .addMethod(
          getDeleteEnvironmentMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.DeleteEnvironmentRequest,
              dev.tidings.v1.DeleteEnvironmentResponse>(
                service, METHODID_DELETE_ENVIRONMENT)))
        .build();
  }

  private static abstract class EnvironmentServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    EnvironmentServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.tidings.v1.EnvironmentProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("EnvironmentService");
    }
  }

  private static final class EnvironmentServiceFileDescriptorSupplier
      extends EnvironmentServiceBaseDescriptorSupplier {
    EnvironmentServiceFileDescriptorSupplier() {}
  }

  private static final class EnvironmentServiceMethodDescriptorSupplier
      extends EnvironmentServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    EnvironmentServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (EnvironmentServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new EnvironmentServiceFileDescriptorSupplier())
              .addMethod(getCreateEnvironmentMethod())
              .addMethod(getGetEnvironmentMethod())
              .addMethod(getListEnvironmentsMethod())
              .addMethod(getUpdateEnvironmentMethod())
              .addMethod(getDeleteEnvironmentMethod())
              .build();
        }
      }
    }
    return result;
  }
}
