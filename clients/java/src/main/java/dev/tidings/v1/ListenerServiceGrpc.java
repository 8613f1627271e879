package dev.tidings.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * ListenerService registers who hears what (seed 001): a listener names a
 * filter, a payload profile and a transport. Global listeners, the
 * callback URLs of a workflow (seed 002) and the notify targets of an
 * execution are all listeners; they differ only in scope.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class ListenerServiceGrpc {

  private ListenerServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "tidings.v1.ListenerService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.CreateListenerRequest,
      dev.tidings.v1.CreateListenerResponse> getCreateListenerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateListener",
      requestType = dev.tidings.v1.CreateListenerRequest.class,
      responseType = dev.tidings.v1.CreateListenerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.CreateListenerRequest,
      dev.tidings.v1.CreateListenerResponse> getCreateListenerMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.CreateListenerRequest, dev.tidings.v1.CreateListenerResponse> getCreateListenerMethod;
    if ((getCreateListenerMethod = ListenerServiceGrpc.getCreateListenerMethod) == null) {
      synchronized (ListenerServiceGrpc.class) {
        if ((getCreateListenerMethod = ListenerServiceGrpc.getCreateListenerMethod) == null) {
          ListenerServiceGrpc.getCreateListenerMethod = getCreateListenerMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.CreateListenerRequest, dev.tidings.v1.CreateListenerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateListener"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CreateListenerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CreateListenerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ListenerServiceMethodDescriptorSupplier("CreateListener"))
              .build();
        }
      }
    }
    return getCreateListenerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.GetListenerRequest,
      dev.tidings.v1.GetListenerResponse> getGetListenerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetListener",
      requestType = dev.tidings.v1.GetListenerRequest.class,
      responseType = dev.tidings.v1.GetListenerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.GetListenerRequest,
      dev.tidings.v1.GetListenerResponse> getGetListenerMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.GetListenerRequest, dev.tidings.v1.GetListenerResponse> getGetListenerMethod;
    if ((getGetListenerMethod = ListenerServiceGrpc.getGetListenerMethod) == null) {
      synchronized (ListenerServiceGrpc.class) {
        if ((getGetListenerMethod = ListenerServiceGrpc.getGetListenerMethod) == null) {
          ListenerServiceGrpc.getGetListenerMethod = getGetListenerMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.GetListenerRequest, dev.tidings.v1.GetListenerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetListener"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.GetListenerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.GetListenerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ListenerServiceMethodDescriptorSupplier("GetListener"))
              .build();
        }
      }
    }
    return getGetListenerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.ListListenersRequest,
      dev.tidings.v1.ListListenersResponse> getListListenersMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListListeners",
      requestType = dev.tidings.v1.ListListenersRequest.class,
      responseType = dev.tidings.v1.ListListenersResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.ListListenersRequest,
      dev.tidings.v1.ListListenersResponse> getListListenersMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.ListListenersRequest, dev.tidings.v1.ListListenersResponse> getListListenersMethod;
    if ((getListListenersMethod = ListenerServiceGrpc.getListListenersMethod) == null) {
      synchronized (ListenerServiceGrpc.class) {
        if ((getListListenersMethod = ListenerServiceGrpc.getListListenersMethod) == null) {
          ListenerServiceGrpc.getListListenersMethod = getListListenersMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.ListListenersRequest, dev.tidings.v1.ListListenersResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListListeners"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListListenersRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListListenersResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ListenerServiceMethodDescriptorSupplier("ListListeners"))
              .build();
        }
      }
    }
    return getListListenersMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.UpdateListenerRequest,
      dev.tidings.v1.UpdateListenerResponse> getUpdateListenerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateListener",
      requestType = dev.tidings.v1.UpdateListenerRequest.class,
      responseType = dev.tidings.v1.UpdateListenerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.UpdateListenerRequest,
      dev.tidings.v1.UpdateListenerResponse> getUpdateListenerMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.UpdateListenerRequest, dev.tidings.v1.UpdateListenerResponse> getUpdateListenerMethod;
    if ((getUpdateListenerMethod = ListenerServiceGrpc.getUpdateListenerMethod) == null) {
      synchronized (ListenerServiceGrpc.class) {
        if ((getUpdateListenerMethod = ListenerServiceGrpc.getUpdateListenerMethod) == null) {
          ListenerServiceGrpc.getUpdateListenerMethod = getUpdateListenerMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.UpdateListenerRequest, dev.tidings.v1.UpdateListenerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateListener"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.UpdateListenerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.UpdateListenerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ListenerServiceMethodDescriptorSupplier("UpdateListener"))
              .build();
        }
      }
    }
    return getUpdateListenerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.DeleteListenerRequest,
      dev.tidings.v1.DeleteListenerResponse> getDeleteListenerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteListener",
      requestType = dev.tidings.v1.DeleteListenerRequest.class,
      responseType = dev.tidings.v1.DeleteListenerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.DeleteListenerRequest,
      dev.tidings.v1.DeleteListenerResponse> getDeleteListenerMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.DeleteListenerRequest, dev.tidings.v1.DeleteListenerResponse> getDeleteListenerMethod;
    if ((getDeleteListenerMethod = ListenerServiceGrpc.getDeleteListenerMethod) == null) {
      synchronized (ListenerServiceGrpc.class) {
        if ((getDeleteListenerMethod = ListenerServiceGrpc.getDeleteListenerMethod) == null) {
          ListenerServiceGrpc.getDeleteListenerMethod = getDeleteListenerMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.DeleteListenerRequest, dev.tidings.v1.DeleteListenerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteListener"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.DeleteListenerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.DeleteListenerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ListenerServiceMethodDescriptorSupplier("DeleteListener"))
              .build();
        }
      }
    }
    return getDeleteListenerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.RotateSecretRequest,
      dev.tidings.v1.RotateSecretResponse> getRotateSecretMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RotateSecret",
      requestType = dev.tidings.v1.RotateSecretRequest.class,
      responseType = dev.tidings.v1.RotateSecretResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.RotateSecretRequest,
      dev.tidings.v1.RotateSecretResponse> getRotateSecretMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.RotateSecretRequest, dev.tidings.v1.RotateSecretResponse> getRotateSecretMethod;
    if ((getRotateSecretMethod = ListenerServiceGrpc.getRotateSecretMethod) == null) {
      synchronized (ListenerServiceGrpc.class) {
        if ((getRotateSecretMethod = ListenerServiceGrpc.getRotateSecretMethod) == null) {
          ListenerServiceGrpc.getRotateSecretMethod = getRotateSecretMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.RotateSecretRequest, dev.tidings.v1.RotateSecretResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RotateSecret"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.RotateSecretRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.RotateSecretResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ListenerServiceMethodDescriptorSupplier("RotateSecret"))
              .build();
        }
      }
    }
    return getRotateSecretMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.TestListenerRequest,
      dev.tidings.v1.TestListenerResponse> getTestListenerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "TestListener",
      requestType = dev.tidings.v1.TestListenerRequest.class,
      responseType = dev.tidings.v1.TestListenerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.TestListenerRequest,
      dev.tidings.v1.TestListenerResponse> getTestListenerMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.TestListenerRequest, dev.tidings.v1.TestListenerResponse> getTestListenerMethod;
    if ((getTestListenerMethod = ListenerServiceGrpc.getTestListenerMethod) == null) {
      synchronized (ListenerServiceGrpc.class) {
        if ((getTestListenerMethod = ListenerServiceGrpc.getTestListenerMethod) == null) {
          ListenerServiceGrpc.getTestListenerMethod = getTestListenerMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.TestListenerRequest, dev.tidings.v1.TestListenerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "TestListener"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.TestListenerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.TestListenerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ListenerServiceMethodDescriptorSupplier("TestListener"))
              .build();
        }
      }
    }
    return getTestListenerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.ListDeliveriesRequest,
      dev.tidings.v1.ListDeliveriesResponse> getListDeliveriesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListDeliveries",
      requestType = dev.tidings.v1.ListDeliveriesRequest.class,
      responseType = dev.tidings.v1.ListDeliveriesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.ListDeliveriesRequest,
      dev.tidings.v1.ListDeliveriesResponse> getListDeliveriesMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.ListDeliveriesRequest, dev.tidings.v1.ListDeliveriesResponse> getListDeliveriesMethod;
    if ((getListDeliveriesMethod = ListenerServiceGrpc.getListDeliveriesMethod) == null) {
      synchronized (ListenerServiceGrpc.class) {
        if ((getListDeliveriesMethod = ListenerServiceGrpc.getListDeliveriesMethod) == null) {
          ListenerServiceGrpc.getListDeliveriesMethod = getListDeliveriesMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.ListDeliveriesRequest, dev.tidings.v1.ListDeliveriesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListDeliveries"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListDeliveriesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListDeliveriesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ListenerServiceMethodDescriptorSupplier("ListDeliveries"))
              .build();
        }
      }
    }
    return getListDeliveriesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.RedeliverEventsRequest,
      dev.tidings.v1.RedeliverEventsResponse> getRedeliverEventsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RedeliverEvents",
      requestType = dev.tidings.v1.RedeliverEventsRequest.class,
      responseType = dev.tidings.v1.RedeliverEventsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.RedeliverEventsRequest,
      dev.tidings.v1.RedeliverEventsResponse> getRedeliverEventsMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.RedeliverEventsRequest, dev.tidings.v1.RedeliverEventsResponse> getRedeliverEventsMethod;
    if ((getRedeliverEventsMethod = ListenerServiceGrpc.getRedeliverEventsMethod) == null) {
      synchronized (ListenerServiceGrpc.class) {
        if ((getRedeliverEventsMethod = ListenerServiceGrpc.getRedeliverEventsMethod) == null) {
          ListenerServiceGrpc.getRedeliverEventsMethod = getRedeliverEventsMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.RedeliverEventsRequest, dev.tidings.v1.RedeliverEventsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RedeliverEvents"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.RedeliverEventsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.RedeliverEventsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ListenerServiceMethodDescriptorSupplier("RedeliverEvents"))
              .build();
        }
      }
    }
    return getRedeliverEventsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static ListenerServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ListenerServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ListenerServiceStub>() {
        @java.lang.Override
        public ListenerServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ListenerServiceStub(channel, callOptions);
        }
      };
    return ListenerServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static ListenerServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ListenerServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ListenerServiceBlockingV2Stub>() {
        @java.lang.Override
        public ListenerServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ListenerServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return ListenerServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static ListenerServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ListenerServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ListenerServiceBlockingStub>() {
        @java.lang.Override
        public ListenerServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ListenerServiceBlockingStub(channel, callOptions);
        }
      };
    return ListenerServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static ListenerServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ListenerServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ListenerServiceFutureStub>() {
        @java.lang.Override
        public ListenerServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ListenerServiceFutureStub(channel, callOptions);
        }
      };
    return ListenerServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * ListenerService registers who hears what (seed 001): a listener names a
   * filter, a payload profile and a transport. Global listeners, the
   * callback URLs of a workflow (seed 002) and the notify targets of an
   * execution are all listeners; they differ only in scope.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Registers a global listener; the response carries its signing secret, this
     * once.
     * </pre>
     */
    default void createListener(dev.tidings.v1.CreateListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CreateListenerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateListenerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns a listener by id (never its secrets).
     * </pre>
     */
    default void getListener(dev.tidings.v1.GetListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.GetListenerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetListenerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns a page of listeners, in creation order.
     * </pre>
     */
    default void listListeners(dev.tidings.v1.ListListenersRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListListenersResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListListenersMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes a listener's settings (update_mask, AIP-134; etag checked); its
     * secrets stay.
     * </pre>
     */
    default void updateListener(dev.tidings.v1.UpdateListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.UpdateListenerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateListenerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes a listener (etag checked if given).
     * </pre>
     */
    default void deleteListener(dev.tidings.v1.DeleteListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.DeleteListenerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteListenerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Makes a new signing secret; the old one keeps signing alongside it for a
     * grace period (default 24 h).
     * </pre>
     */
    default void rotateSecret(dev.tidings.v1.RotateSecretRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.RotateSecretResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRotateSecretMethod(), responseObserver);
    }

    /**
     * <pre>
     * Sends a ping event and returns what the receiver answered.
     * </pre>
     */
    default void testListener(dev.tidings.v1.TestListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.TestListenerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getTestListenerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns a page of webhook deliveries (newest first), each with its
     * attempts.
     * </pre>
     */
    default void listDeliveries(dev.tidings.v1.ListDeliveriesRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListDeliveriesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListDeliveriesMethod(), responseObserver);
    }

    /**
     * <pre>
     * Queues events for delivery again, with the same event ids.
     * </pre>
     */
    default void redeliverEvents(dev.tidings.v1.RedeliverEventsRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.RedeliverEventsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRedeliverEventsMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service ListenerService.
   * <pre>
   * ListenerService registers who hears what (seed 001): a listener names a
   * filter, a payload profile and a transport. Global listeners, the
   * callback URLs of a workflow (seed 002) and the notify targets of an
   * execution are all listeners; they differ only in scope.
   * </pre>
   */
  public static abstract class ListenerServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return ListenerServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service ListenerService.
   * <pre>
   * ListenerService registers who hears what (seed 001): a listener names a
   * filter, a payload profile and a transport. Global listeners, the
   * callback URLs of a workflow (seed 002) and the notify targets of an
   * execution are all listeners; they differ only in scope.
   * </pre>
   */
  public static final class ListenerServiceStub
      extends io.grpc.stub.AbstractAsyncStub<ListenerServiceStub> {
    private ListenerServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ListenerServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ListenerServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers a global listener; the response carries its signing secret, this
     * once.
     * </pre>
     */
    public void createListener(dev.tidings.v1.CreateListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CreateListenerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateListenerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns a listener by id (never its secrets).
     * </pre>
     */
    public void getListener(dev.tidings.v1.GetListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.GetListenerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetListenerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns a page of listeners, in creation order.
     * </pre>
     */
    public void listListeners(dev.tidings.v1.ListListenersRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListListenersResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListListenersMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes a listener's settings (update_mask, AIP-134; etag checked); its
     * secrets stay.
     * </pre>
     */
    public void updateListener(dev.tidings.v1.UpdateListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.UpdateListenerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateListenerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes a listener (etag checked if given).
     * </pre>
     */
    public void deleteListener(dev.tidings.v1.DeleteListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.DeleteListenerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteListenerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Makes a new signing secret; the old one keeps signing alongside it for a
     * grace period (default 24 h).
     * </pre>
     */
    public void rotateSecret(dev.tidings.v1.RotateSecretRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.RotateSecretResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRotateSecretMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Sends a ping event and returns what the receiver answered.
     * </pre>
     */
    public void testListener(dev.tidings.v1.TestListenerRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.TestListenerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getTestListenerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns a page of webhook deliveries (newest first), each with its
     * attempts.
     * </pre>
     */
    public void listDeliveries(dev.tidings.v1.ListDeliveriesRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListDeliveriesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListDeliveriesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Queues events for delivery again, with the same event ids.
     * </pre>
     */
    public void redeliverEvents(dev.tidings.v1.RedeliverEventsRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.RedeliverEventsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRedeliverEventsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service ListenerService.
   * <pre>
   * ListenerService registers who hears what (seed 001): a listener names a
   * filter, a payload profile and a transport. Global listeners, the
   * callback URLs of a workflow (seed 002) and the notify targets of an
   * execution are all listeners; they differ only in scope.
   * </pre>
   */
  public static final class ListenerServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<ListenerServiceBlockingV2Stub> {
    private ListenerServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ListenerServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ListenerServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers a global listener; the response carries its signing secret, this
     * once.
     * </pre>
     */
    public dev.tidings.v1.CreateListenerResponse createListener(dev.tidings.v1.CreateListenerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a listener by id (never its secrets).
     * </pre>
     */
    public dev.tidings.v1.GetListenerResponse getListener(dev.tidings.v1.GetListenerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of listeners, in creation order.
     * </pre>
     */
    public dev.tidings.v1.ListListenersResponse listListeners(dev.tidings.v1.ListListenersRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListListenersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a listener's settings (update_mask, AIP-134; etag checked); its
     * secrets stay.
     * </pre>
     */
    public dev.tidings.v1.UpdateListenerResponse updateListener(dev.tidings.v1.UpdateListenerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdateListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a listener (etag checked if given).
     * </pre>
     */
    public dev.tidings.v1.DeleteListenerResponse deleteListener(dev.tidings.v1.DeleteListenerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Makes a new signing secret; the old one keeps signing alongside it for a
     * grace period (default 24 h).
     * </pre>
     */
    public dev.tidings.v1.RotateSecretResponse rotateSecret(dev.tidings.v1.RotateSecretRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRotateSecretMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Sends a ping event and returns what the receiver answered.
     * </pre>
     */
    public dev.tidings.v1.TestListenerResponse testListener(dev.tidings.v1.TestListenerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getTestListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of webhook deliveries (newest first), each with its
     * attempts.
     * </pre>
     */
    public dev.tidings.v1.ListDeliveriesResponse listDeliveries(dev.tidings.v1.ListDeliveriesRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListDeliveriesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Queues events for delivery again, with the same event ids.
     * </pre>
     */
    public dev.tidings.v1.RedeliverEventsResponse redeliverEvents(dev.tidings.v1.RedeliverEventsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRedeliverEventsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service ListenerService.
   * <pre>
   * ListenerService registers who hears what (seed 001): a listener names a
   * filter, a payload profile and a transport. Global listeners, the
   * callback URLs of a workflow (seed 002) and the notify targets of an
   * execution are all listeners; they differ only in scope.
   * </pre>
   */
  public static final class ListenerServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<ListenerServiceBlockingStub> {
    private ListenerServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ListenerServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ListenerServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers a global listener; the response carries its signing secret, this
     * once.
     * </pre>
     */
    public dev.tidings.v1.CreateListenerResponse createListener(dev.tidings.v1.CreateListenerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a listener by id (never its secrets).
     * </pre>
     */
    public dev.tidings.v1.GetListenerResponse getListener(dev.tidings.v1.GetListenerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of listeners, in creation order.
     * </pre>
     */
    public dev.tidings.v1.ListListenersResponse listListeners(dev.tidings.v1.ListListenersRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListListenersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a listener's settings (update_mask, AIP-134; etag checked); its
     * secrets stay.
     * </pre>
     */
    public dev.tidings.v1.UpdateListenerResponse updateListener(dev.tidings.v1.UpdateListenerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a listener (etag checked if given).
     * </pre>
     */
    public dev.tidings.v1.DeleteListenerResponse deleteListener(dev.tidings.v1.DeleteListenerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Makes a new signing secret; the old one keeps signing alongside it for a
     * grace period (default 24 h).
     * </pre>
     */
    public dev.tidings.v1.RotateSecretResponse rotateSecret(dev.tidings.v1.RotateSecretRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRotateSecretMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Sends a ping event and returns what the receiver answered.
     * </pre>
     */
    public dev.tidings.v1.TestListenerResponse testListener(dev.tidings.v1.TestListenerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getTestListenerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of webhook deliveries (newest first), each with its
     * attempts.
     * </pre>
     */
    public dev.tidings.v1.ListDeliveriesResponse listDeliveries(dev.tidings.v1.ListDeliveriesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListDeliveriesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Queues events for delivery again, with the same event ids.
     * </pre>
     */
    public dev.tidings.v1.RedeliverEventsResponse redeliverEvents(dev.tidings.v1.RedeliverEventsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRedeliverEventsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service ListenerService.
   * <pre>
   * ListenerService registers who hears what (seed 001): a listener names a
   * filter, a payload profile and a transport. Global listeners, the
   * callback URLs of a workflow (seed 002) and the notify targets of an
   * execution are all listeners; they differ only in scope.
   * </pre>
   */
  public static final class ListenerServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<ListenerServiceFutureStub> {
    private ListenerServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ListenerServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ListenerServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers a global listener; the response carries its signing secret, this
     * once.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.CreateListenerResponse> createListener(
        dev.tidings.v1.CreateListenerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateListenerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns a listener by id (never its secrets).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.GetListenerResponse> getListener(
        dev.tidings.v1.GetListenerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetListenerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns a page of listeners, in creation order.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.ListListenersResponse> listListeners(
        dev.tidings.v1.ListListenersRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListListenersMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes a listener's settings (update_mask, AIP-134; etag checked); its
     * secrets stay.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.UpdateListenerResponse> updateListener(
        dev.tidings.v1.UpdateListenerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateListenerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes a listener (etag checked if given).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.DeleteListenerResponse> deleteListener(
        dev.tidings.v1.DeleteListenerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteListenerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Makes a new signing secret; the old one keeps signing alongside it for a
     * grace period (default 24 h).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.RotateSecretResponse> rotateSecret(
        dev.tidings.v1.RotateSecretRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRotateSecretMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Sends a ping event and returns what the receiver answered.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.TestListenerResponse> testListener(
        dev.tidings.v1.TestListenerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getTestListenerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns a page of webhook deliveries (newest first), each with its
     * attempts.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.ListDeliveriesResponse> listDeliveries(
        dev.tidings.v1.ListDeliveriesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListDeliveriesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Queues events for delivery again, with the same event ids.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.RedeliverEventsResponse> redeliverEvents(
        dev.tidings.v1.RedeliverEventsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRedeliverEventsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_LISTENER = 0;
  private static final int METHODID_GET_LISTENER = 1;
  private static final int METHODID_LIST_LISTENERS = 2;
  private static final int METHODID_UPDATE_LISTENER = 3;
  private static final int METHODID_DELETE_LISTENER = 4;
  private static final int METHODID_ROTATE_SECRET = 5;
  private static final int METHODID_TEST_LISTENER = 6;
  private static final int METHODID_LIST_DELIVERIES = 7;
  private static final int METHODID_REDELIVER_EVENTS = 8;

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
        case METHODID_CREATE_LISTENER:
          serviceImpl.createListener((dev.tidings.v1.CreateListenerRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.CreateListenerResponse>) responseObserver);
          break;
        case METHODID_GET_LISTENER:
          serviceImpl.getListener((dev.tidings.v1.GetListenerRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.GetListenerResponse>) responseObserver);
          break;
        case METHODID_LIST_LISTENERS:
          serviceImpl.listListeners((dev.tidings.v1.ListListenersRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.ListListenersResponse>) responseObserver);
          break;
        case METHODID_UPDATE_LISTENER:
          serviceImpl.updateListener((dev.tidings.v1.UpdateListenerRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.UpdateListenerResponse>) responseObserver);
          break;
        case METHODID_DELETE_LISTENER:
          serviceImpl.deleteListener((dev.tidings.v1.DeleteListenerRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.DeleteListenerResponse>) responseObserver);
          break;
        case METHODID_ROTATE_SECRET:
          serviceImpl.rotateSecret((dev.tidings.v1.RotateSecretRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.RotateSecretResponse>) responseObserver);
          break;
        case METHODID_TEST_LISTENER:
          serviceImpl.testListener((dev.tidings.v1.TestListenerRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.TestListenerResponse>) responseObserver);
          break;
        case METHODID_LIST_DELIVERIES:
          serviceImpl.listDeliveries((dev.tidings.v1.ListDeliveriesRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.ListDeliveriesResponse>) responseObserver);
          break;
        case METHODID_REDELIVER_EVENTS:
          serviceImpl.redeliverEvents((dev.tidings.v1.RedeliverEventsRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.RedeliverEventsResponse>) responseObserver);
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
          getCreateListenerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.CreateListenerRequest,
              dev.tidings.v1.CreateListenerResponse>(
                service, METHODID_CREATE_LISTENER)))
        .addMethod(
          getGetListenerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.GetListenerRequest,
              dev.tidings.v1.GetListenerResponse>(
                service, METHODID_GET_LISTENER)))
        .addMethod(
          getListListenersMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.ListListenersRequest,
              dev.tidings.v1.ListListenersResponse>(
                service, METHODID_LIST_LISTENERS)))
        .addMethod(
          getUpdateListenerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.UpdateListenerRequest,
              dev.tidings.v1.UpdateListenerResponse>(
                service, METHODID_UPDATE_LISTENER)))
        .addMethod(
          getDeleteListenerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.DeleteListenerRequest,
              dev.tidings.v1.DeleteListenerResponse>(
                service, METHODID_DELETE_LISTENER)))
        .addMethod(
          getRotateSecretMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.RotateSecretRequest,
              dev.tidings.v1.RotateSecretResponse>(
                service, METHODID_ROTATE_SECRET)))
        .addMethod(
          getTestListenerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.TestListenerRequest,
              dev.tidings.v1.TestListenerResponse>(
                service, METHODID_TEST_LISTENER)))
        .addMethod(
          getListDeliveriesMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.ListDeliveriesRequest,
              dev.tidings.v1.ListDeliveriesResponse>(
                service, METHODID_LIST_DELIVERIES)))
        .addMethod(
          getRedeliverEventsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.RedeliverEventsRequest,
              dev.tidings.v1.RedeliverEventsResponse>(
                service, METHODID_REDELIVER_EVENTS)))
        .build();
  }

  private static abstract class ListenerServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    ListenerServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.tidings.v1.ListenerProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("ListenerService");
    }
  }

  private static final class ListenerServiceFileDescriptorSupplier
      extends ListenerServiceBaseDescriptorSupplier {
    ListenerServiceFileDescriptorSupplier() {}
  }

  private static final class ListenerServiceMethodDescriptorSupplier
      extends ListenerServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    ListenerServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (ListenerServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new ListenerServiceFileDescriptorSupplier())
              .addMethod(getCreateListenerMethod())
              .addMethod(getGetListenerMethod())
              .addMethod(getListListenersMethod())
              .addMethod(getUpdateListenerMethod())
              .addMethod(getDeleteListenerMethod())
              .addMethod(getRotateSecretMethod())
              .addMethod(getTestListenerMethod())
              .addMethod(getListDeliveriesMethod())
              .addMethod(getRedeliverEventsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
