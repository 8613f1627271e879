package dev.tidings.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * WorkflowService stores workflow definitions (Mistral v2 language, YAML or
 * JSON; see docs/workflow-language.md). A definition is validated when it is
 * created or updated: an invalid one is refused with INVALID_ARGUMENT and a
 * google.rpc.BadRequest naming each offending field. CreateWorkflow with
 * validate_only checks one without storing it.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class WorkflowServiceGrpc {

  private WorkflowServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "tidings.v1.WorkflowService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.CreateWorkflowRequest,
      dev.tidings.v1.CreateWorkflowResponse> getCreateWorkflowMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateWorkflow",
      requestType = dev.tidings.v1.CreateWorkflowRequest.class,
      responseType = dev.tidings.v1.CreateWorkflowResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.CreateWorkflowRequest,
      dev.tidings.v1.CreateWorkflowResponse> getCreateWorkflowMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.CreateWorkflowRequest, dev.tidings.v1.CreateWorkflowResponse> getCreateWorkflowMethod;
    if ((getCreateWorkflowMethod = WorkflowServiceGrpc.getCreateWorkflowMethod) == null) {
      synchronized (WorkflowServiceGrpc.class) {
        if ((getCreateWorkflowMethod = WorkflowServiceGrpc.getCreateWorkflowMethod) == null) {
          WorkflowServiceGrpc.getCreateWorkflowMethod = getCreateWorkflowMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.CreateWorkflowRequest, dev.tidings.v1.CreateWorkflowResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateWorkflow"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CreateWorkflowRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CreateWorkflowResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkflowServiceMethodDescriptorSupplier("CreateWorkflow"))
              .build();
        }
      }
    }
    return getCreateWorkflowMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.GetWorkflowRequest,
      dev.tidings.v1.GetWorkflowResponse> getGetWorkflowMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetWorkflow",
      requestType = dev.tidings.v1.GetWorkflowRequest.class,
      responseType = dev.tidings.v1.GetWorkflowResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.GetWorkflowRequest,
      dev.tidings.v1.GetWorkflowResponse> getGetWorkflowMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.GetWorkflowRequest, dev.tidings.v1.GetWorkflowResponse> getGetWorkflowMethod;
    if ((getGetWorkflowMethod = WorkflowServiceGrpc.getGetWorkflowMethod) == null) {
      synchronized (WorkflowServiceGrpc.class) {
        if ((getGetWorkflowMethod = WorkflowServiceGrpc.getGetWorkflowMethod) == null) {
          WorkflowServiceGrpc.getGetWorkflowMethod = getGetWorkflowMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.GetWorkflowRequest, dev.tidings.v1.GetWorkflowResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetWorkflow"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.GetWorkflowRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.GetWorkflowResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkflowServiceMethodDescriptorSupplier("GetWorkflow"))
              .build();
        }
      }
    }
    return getGetWorkflowMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.ListWorkflowsRequest,
      dev.tidings.v1.ListWorkflowsResponse> getListWorkflowsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListWorkflows",
      requestType = dev.tidings.v1.ListWorkflowsRequest.class,
      responseType = dev.tidings.v1.ListWorkflowsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.ListWorkflowsRequest,
      dev.tidings.v1.ListWorkflowsResponse> getListWorkflowsMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.ListWorkflowsRequest, dev.tidings.v1.ListWorkflowsResponse> getListWorkflowsMethod;
    if ((getListWorkflowsMethod = WorkflowServiceGrpc.getListWorkflowsMethod) == null) {
      synchronized (WorkflowServiceGrpc.class) {
        if ((getListWorkflowsMethod = WorkflowServiceGrpc.getListWorkflowsMethod) == null) {
          WorkflowServiceGrpc.getListWorkflowsMethod = getListWorkflowsMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.ListWorkflowsRequest, dev.tidings.v1.ListWorkflowsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListWorkflows"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListWorkflowsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListWorkflowsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkflowServiceMethodDescriptorSupplier("ListWorkflows"))
              .build();
        }
      }
    }
    return getListWorkflowsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.UpdateWorkflowRequest,
      dev.tidings.v1.UpdateWorkflowResponse> getUpdateWorkflowMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateWorkflow",
      requestType = dev.tidings.v1.UpdateWorkflowRequest.class,
      responseType = dev.tidings.v1.UpdateWorkflowResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.UpdateWorkflowRequest,
      dev.tidings.v1.UpdateWorkflowResponse> getUpdateWorkflowMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.UpdateWorkflowRequest, dev.tidings.v1.UpdateWorkflowResponse> getUpdateWorkflowMethod;
    if ((getUpdateWorkflowMethod = WorkflowServiceGrpc.getUpdateWorkflowMethod) == null) {
      synchronized (WorkflowServiceGrpc.class) {
        if ((getUpdateWorkflowMethod = WorkflowServiceGrpc.getUpdateWorkflowMethod) == null) {
          WorkflowServiceGrpc.getUpdateWorkflowMethod = getUpdateWorkflowMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.UpdateWorkflowRequest, dev.tidings.v1.UpdateWorkflowResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateWorkflow"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.UpdateWorkflowRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.UpdateWorkflowResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkflowServiceMethodDescriptorSupplier("UpdateWorkflow"))
              .build();
        }
      }
    }
    return getUpdateWorkflowMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.DeleteWorkflowRequest,
      dev.tidings.v1.DeleteWorkflowResponse> getDeleteWorkflowMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteWorkflow",
      requestType = dev.tidings.v1.DeleteWorkflowRequest.class,
      responseType = dev.tidings.v1.DeleteWorkflowResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.DeleteWorkflowRequest,
      dev.tidings.v1.DeleteWorkflowResponse> getDeleteWorkflowMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.DeleteWorkflowRequest, dev.tidings.v1.DeleteWorkflowResponse> getDeleteWorkflowMethod;
    if ((getDeleteWorkflowMethod = WorkflowServiceGrpc.getDeleteWorkflowMethod) == null) {
      synchronized (WorkflowServiceGrpc.class) {
        if ((getDeleteWorkflowMethod = WorkflowServiceGrpc.getDeleteWorkflowMethod) == null) {
          WorkflowServiceGrpc.getDeleteWorkflowMethod = getDeleteWorkflowMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.DeleteWorkflowRequest, dev.tidings.v1.DeleteWorkflowResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteWorkflow"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.DeleteWorkflowRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.DeleteWorkflowResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkflowServiceMethodDescriptorSupplier("DeleteWorkflow"))
              .build();
        }
      }
    }
    return getDeleteWorkflowMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static WorkflowServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WorkflowServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WorkflowServiceStub>() {
        @java.lang.Override
        public WorkflowServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WorkflowServiceStub(channel, callOptions);
        }
      };
    return WorkflowServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static WorkflowServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WorkflowServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WorkflowServiceBlockingV2Stub>() {
        @java.lang.Override
        public WorkflowServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WorkflowServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return WorkflowServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static WorkflowServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WorkflowServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WorkflowServiceBlockingStub>() {
        @java.lang.Override
        public WorkflowServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WorkflowServiceBlockingStub(channel, callOptions);
        }
      };
    return WorkflowServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static WorkflowServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WorkflowServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WorkflowServiceFutureStub>() {
        @java.lang.Override
        public WorkflowServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WorkflowServiceFutureStub(channel, callOptions);
        }
      };
    return WorkflowServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * WorkflowService stores workflow definitions (Mistral v2 language, YAML or
   * JSON; see docs/workflow-language.md). A definition is validated when it is
   * created or updated: an invalid one is refused with INVALID_ARGUMENT and a
   * google.rpc.BadRequest naming each offending field. CreateWorkflow with
   * validate_only checks one without storing it.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Validates and stores a definition (request_id makes retries safe).
     * </pre>
     */
    default void createWorkflow(dev.tidings.v1.CreateWorkflowRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CreateWorkflowResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateWorkflowMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns a workflow by id or name.
     * </pre>
     */
    default void getWorkflow(dev.tidings.v1.GetWorkflowRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.GetWorkflowResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetWorkflowMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns a page of workflows, in creation order.
     * </pre>
     */
    default void listWorkflows(dev.tidings.v1.ListWorkflowsRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListWorkflowsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListWorkflowsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes a workflow's definition or callback URLs (update_mask, AIP-134;
     * etag checked).
     * </pre>
     */
    default void updateWorkflow(dev.tidings.v1.UpdateWorkflowRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.UpdateWorkflowResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateWorkflowMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes a workflow (etag checked if given); its executions keep running.
     * </pre>
     */
    default void deleteWorkflow(dev.tidings.v1.DeleteWorkflowRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.DeleteWorkflowResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteWorkflowMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service WorkflowService.
   * <pre>
   * WorkflowService stores workflow definitions (Mistral v2 language, YAML or
   * JSON; see docs/workflow-language.md). A definition is validated when it is
   * created or updated: an invalid one is refused with INVALID_ARGUMENT and a
   * google.rpc.BadRequest naming each offending field. CreateWorkflow with
   * validate_only checks one without storing it.
   * </pre>
   */
  public static abstract class WorkflowServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return WorkflowServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service WorkflowService.
   * <pre>
   * WorkflowService stores workflow definitions (Mistral v2 language, YAML or
   * JSON; see docs/workflow-language.md). A definition is validated when it is
   * created or updated: an invalid one is refused with INVALID_ARGUMENT and a
   * google.rpc.BadRequest naming each offending field. CreateWorkflow with
   * validate_only checks one without storing it.
   * </pre>
   */
  public static final class WorkflowServiceStub
      extends io.grpc.stub.AbstractAsyncStub<WorkflowServiceStub> {
    private WorkflowServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WorkflowServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WorkflowServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Validates and stores a definition (request_id makes retries safe).
     * </pre>
     */
    public void createWorkflow(dev.tidings.v1.CreateWorkflowRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CreateWorkflowResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateWorkflowMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns a workflow by id or name.
     * </pre>
     */
    public void getWorkflow(dev.tidings.v1.GetWorkflowRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.GetWorkflowResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetWorkflowMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns a page of workflows, in creation order.
     * </pre>
     */
    public void listWorkflows(dev.tidings.v1.ListWorkflowsRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListWorkflowsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListWorkflowsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes a workflow's definition or callback URLs (update_mask, AIP-134;
     * etag checked).
     * </pre>
     */
    public void updateWorkflow(dev.tidings.v1.UpdateWorkflowRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.UpdateWorkflowResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateWorkflowMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes a workflow (etag checked if given); its executions keep running.
     * </pre>
     */
    public void deleteWorkflow(dev.tidings.v1.DeleteWorkflowRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.DeleteWorkflowResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteWorkflowMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service WorkflowService.
   * <pre>
   * WorkflowService stores workflow definitions (Mistral v2 language, YAML or
   * JSON; see docs/workflow-language.md). A definition is validated when it is
   * created or updated: an invalid one is refused with INVALID_ARGUMENT and a
   * google.rpc.BadRequest naming each offending field. CreateWorkflow with
   * validate_only checks one without storing it.
   * </pre>
   */
  public static final class WorkflowServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<WorkflowServiceBlockingV2Stub> {
    private WorkflowServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WorkflowServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WorkflowServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Validates and stores a definition (request_id makes retries safe).
     * </pre>
     */
    public dev.tidings.v1.CreateWorkflowResponse createWorkflow(dev.tidings.v1.CreateWorkflowRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateWorkflowMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a workflow by id or name.
     * </pre>
     */
    public dev.tidings.v1.GetWorkflowResponse getWorkflow(dev.tidings.v1.GetWorkflowRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetWorkflowMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of workflows, in creation order.
     * </pre>
     */
    public dev.tidings.v1.ListWorkflowsResponse listWorkflows(dev.tidings.v1.ListWorkflowsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListWorkflowsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a workflow's definition or callback URLs (update_mask, AIP-134;
     * etag checked).
     * </pre>
     */
    public dev.tidings.v1.UpdateWorkflowResponse updateWorkflow(dev.tidings.v1.UpdateWorkflowRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdateWorkflowMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a workflow (etag checked if given); its executions keep running.
     * </pre>
     */
    public dev.tidings.v1.DeleteWorkflowResponse deleteWorkflow(dev.tidings.v1.DeleteWorkflowRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteWorkflowMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service WorkflowService.
   * <pre>
   * WorkflowService stores workflow definitions (Mistral v2 language, YAML or
   * JSON; see docs/workflow-language.md). A definition is validated when it is
   * created or updated: an invalid one is refused with INVALID_ARGUMENT and a
   * google.rpc.BadRequest naming each offending field. CreateWorkflow with
   * validate_only checks one without storing it.
   * </pre>
   */
  public static final class WorkflowServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<WorkflowServiceBlockingStub> {
    private WorkflowServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WorkflowServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WorkflowServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Validates and stores a definition (request_id makes retries safe).
     * </pre>
     */
    public dev.tidings.v1.CreateWorkflowResponse createWorkflow(dev.tidings.v1.CreateWorkflowRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateWorkflowMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a workflow by id or name.
     * </pre>
     */
    public dev.tidings.v1.GetWorkflowResponse getWorkflow(dev.tidings.v1.GetWorkflowRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetWorkflowMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of workflows, in creation order.
     * </pre>
     */
    public dev.tidings.v1.ListWorkflowsResponse listWorkflows(dev.tidings.v1.ListWorkflowsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListWorkflowsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a workflow's definition or callback URLs (update_mask, AIP-134;
     * etag checked).
     * </pre>
     */
    public dev.tidings.v1.UpdateWorkflowResponse updateWorkflow(dev.tidings.v1.UpdateWorkflowRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateWorkflowMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a workflow (etag checked if given); its executions keep running.
     * </pre>
     */
    public dev.tidings.v1.DeleteWorkflowResponse deleteWorkflow(dev.tidings.v1.DeleteWorkflowRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteWorkflowMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service WorkflowService.
   * <pre>
   * WorkflowService stores workflow definitions (Mistral v2 language, YAML or
   * JSON; see docs/workflow-language.md). A definition is validated when it is
   * created or updated: an invalid one is refused with INVALID_ARGUMENT and a
   * google.rpc.BadRequest naming each offending field. CreateWorkflow with
   * validate_only checks one without storing it.
   * </pre>
   */
  public static final class WorkflowServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<WorkflowServiceFutureStub> {
    private WorkflowServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WorkflowServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WorkflowServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Validates and stores a definition (request_id makes retries safe).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.CreateWorkflowResponse> createWorkflow(
        dev.tidings.v1.CreateWorkflowRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateWorkflowMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns a workflow by id or name.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.GetWorkflowResponse> getWorkflow(
        dev.tidings.v1.GetWorkflowRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetWorkflowMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns a page of workflows, in creation order.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.ListWorkflowsResponse> listWorkflows(
        dev.tidings.v1.ListWorkflowsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListWorkflowsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes a workflow's definition or callback URLs (update_mask, AIP-134;
     * etag checked).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.UpdateWorkflowResponse> updateWorkflow(
        dev.tidings.v1.UpdateWorkflowRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateWorkflowMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes a workflow (etag checked if given); its executions keep running.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.DeleteWorkflowResponse> deleteWorkflow(
        dev.tidings.v1.DeleteWorkflowRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteWorkflowMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_WORKFLOW = 0;
  private static final int METHODID_GET_WORKFLOW = 1;
  private static final int METHODID_LIST_WORKFLOWS = 2;
  private static final int METHODID_UPDATE_WORKFLOW = 3;
  private static final int METHODID_DELETE_WORKFLOW = 4;

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
        case METHODID_CREATE_WORKFLOW:
          serviceImpl.createWorkflow((dev.tidings.v1.CreateWorkflowRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.CreateWorkflowResponse>) responseObserver);
          break;
        case METHODID_GET_WORKFLOW:
          serviceImpl.getWorkflow((dev.tidings.v1.GetWorkflowRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.GetWorkflowResponse>) responseObserver);
          break;
        case METHODID_LIST_WORKFLOWS:
          serviceImpl.listWorkflows((dev.tidings.v1.ListWorkflowsRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.ListWorkflowsResponse>) responseObserver);
          break;
        case METHODID_UPDATE_WORKFLOW:
          serviceImpl.updateWorkflow((dev.tidings.v1.UpdateWorkflowRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.UpdateWorkflowResponse>) responseObserver);
          break;
        case METHODID_DELETE_WORKFLOW:
          serviceImpl.deleteWorkflow((dev.tidings.v1.DeleteWorkflowRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.DeleteWorkflowResponse>) responseObserver);
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
          getCreateWorkflowMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.CreateWorkflowRequest,
              dev.tidings.v1.CreateWorkflowResponse>(
                service, METHODID_CREATE_WORKFLOW)))
        .addMethod(
          getGetWorkflowMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.GetWorkflowRequest,
              dev.tidings.v1.GetWorkflowResponse>(
                service, METHODID_GET_WORKFLOW)))
        .addMethod(
          getListWorkflowsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.ListWorkflowsRequest,
              dev.tidings.v1.ListWorkflowsResponse>(
                service, METHODID_LIST_WORKFLOWS)))
        .addMethod(
          getUpdateWorkflowMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.UpdateWorkflowRequest,
              dev.tidings.v1.UpdateWorkflowResponse>(
                service, METHODID_UPDATE_WORKFLOW)))
        .addMethod(
          getDeleteWorkflowMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.DeleteWorkflowRequest,
              dev.tidings.v1.DeleteWorkflowResponse>(
                service, METHODID_DELETE_WORKFLOW)))
        .build();
  }

  private static abstract class WorkflowServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    WorkflowServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.tidings.v1.WorkflowProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("WorkflowService");
    }
  }

  private static final class WorkflowServiceFileDescriptorSupplier
      extends WorkflowServiceBaseDescriptorSupplier {
    WorkflowServiceFileDescriptorSupplier() {}
  }

  private static final class WorkflowServiceMethodDescriptorSupplier
      extends WorkflowServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    WorkflowServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (WorkflowServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new WorkflowServiceFileDescriptorSupplier())
              .addMethod(getCreateWorkflowMethod())
              .addMethod(getGetWorkflowMethod())
              .addMethod(getListWorkflowsMethod())
              .addMethod(getUpdateWorkflowMethod())
              .addMethod(getDeleteWorkflowMethod())
              .build();
        }
      }
    }
    return result;
  }
}
