package dev.tidings.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * ExecutionService runs workflows. Every state change of an execution or a
 * task is committed together with its event (the outbox), so what the
 * dispatcher delivers is exactly what happened.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class ExecutionServiceGrpc {

  private ExecutionServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "tidings.v1.ExecutionService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.StartExecutionRequest,
      dev.tidings.v1.StartExecutionResponse> getStartExecutionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "StartExecution",
      requestType = dev.tidings.v1.StartExecutionRequest.class,
      responseType = dev.tidings.v1.StartExecutionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.StartExecutionRequest,
      dev.tidings.v1.StartExecutionResponse> getStartExecutionMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.StartExecutionRequest, dev.tidings.v1.StartExecutionResponse> getStartExecutionMethod;
    if ((getStartExecutionMethod = ExecutionServiceGrpc.getStartExecutionMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getStartExecutionMethod = ExecutionServiceGrpc.getStartExecutionMethod) == null) {
          ExecutionServiceGrpc.getStartExecutionMethod = getStartExecutionMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.StartExecutionRequest, dev.tidings.v1.StartExecutionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "StartExecution"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.StartExecutionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.StartExecutionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("StartExecution"))
              .build();
        }
      }
    }
    return getStartExecutionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.GetExecutionRequest,
      dev.tidings.v1.GetExecutionResponse> getGetExecutionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetExecution",
      requestType = dev.tidings.v1.GetExecutionRequest.class,
      responseType = dev.tidings.v1.GetExecutionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.GetExecutionRequest,
      dev.tidings.v1.GetExecutionResponse> getGetExecutionMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.GetExecutionRequest, dev.tidings.v1.GetExecutionResponse> getGetExecutionMethod;
    if ((getGetExecutionMethod = ExecutionServiceGrpc.getGetExecutionMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getGetExecutionMethod = ExecutionServiceGrpc.getGetExecutionMethod) == null) {
          ExecutionServiceGrpc.getGetExecutionMethod = getGetExecutionMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.GetExecutionRequest, dev.tidings.v1.GetExecutionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetExecution"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.GetExecutionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.GetExecutionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("GetExecution"))
              .build();
        }
      }
    }
    return getGetExecutionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.ListExecutionsRequest,
      dev.tidings.v1.ListExecutionsResponse> getListExecutionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListExecutions",
      requestType = dev.tidings.v1.ListExecutionsRequest.class,
      responseType = dev.tidings.v1.ListExecutionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.ListExecutionsRequest,
      dev.tidings.v1.ListExecutionsResponse> getListExecutionsMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.ListExecutionsRequest, dev.tidings.v1.ListExecutionsResponse> getListExecutionsMethod;
    if ((getListExecutionsMethod = ExecutionServiceGrpc.getListExecutionsMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getListExecutionsMethod = ExecutionServiceGrpc.getListExecutionsMethod) == null) {
          ExecutionServiceGrpc.getListExecutionsMethod = getListExecutionsMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.ListExecutionsRequest, dev.tidings.v1.ListExecutionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListExecutions"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListExecutionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListExecutionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("ListExecutions"))
              .build();
        }
      }
    }
    return getListExecutionsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.ListTasksRequest,
      dev.tidings.v1.ListTasksResponse> getListTasksMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListTasks",
      requestType = dev.tidings.v1.ListTasksRequest.class,
      responseType = dev.tidings.v1.ListTasksResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.ListTasksRequest,
      dev.tidings.v1.ListTasksResponse> getListTasksMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.ListTasksRequest, dev.tidings.v1.ListTasksResponse> getListTasksMethod;
    if ((getListTasksMethod = ExecutionServiceGrpc.getListTasksMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getListTasksMethod = ExecutionServiceGrpc.getListTasksMethod) == null) {
          ExecutionServiceGrpc.getListTasksMethod = getListTasksMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.ListTasksRequest, dev.tidings.v1.ListTasksResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListTasks"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListTasksRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ListTasksResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("ListTasks"))
              .build();
        }
      }
    }
    return getListTasksMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.PauseExecutionRequest,
      dev.tidings.v1.PauseExecutionResponse> getPauseExecutionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "PauseExecution",
      requestType = dev.tidings.v1.PauseExecutionRequest.class,
      responseType = dev.tidings.v1.PauseExecutionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.PauseExecutionRequest,
      dev.tidings.v1.PauseExecutionResponse> getPauseExecutionMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.PauseExecutionRequest, dev.tidings.v1.PauseExecutionResponse> getPauseExecutionMethod;
    if ((getPauseExecutionMethod = ExecutionServiceGrpc.getPauseExecutionMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getPauseExecutionMethod = ExecutionServiceGrpc.getPauseExecutionMethod) == null) {
          ExecutionServiceGrpc.getPauseExecutionMethod = getPauseExecutionMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.PauseExecutionRequest, dev.tidings.v1.PauseExecutionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "PauseExecution"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.PauseExecutionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.PauseExecutionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("PauseExecution"))
              .build();
        }
      }
    }
    return getPauseExecutionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.ResumeExecutionRequest,
      dev.tidings.v1.ResumeExecutionResponse> getResumeExecutionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ResumeExecution",
      requestType = dev.tidings.v1.ResumeExecutionRequest.class,
      responseType = dev.tidings.v1.ResumeExecutionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.ResumeExecutionRequest,
      dev.tidings.v1.ResumeExecutionResponse> getResumeExecutionMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.ResumeExecutionRequest, dev.tidings.v1.ResumeExecutionResponse> getResumeExecutionMethod;
    if ((getResumeExecutionMethod = ExecutionServiceGrpc.getResumeExecutionMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getResumeExecutionMethod = ExecutionServiceGrpc.getResumeExecutionMethod) == null) {
          ExecutionServiceGrpc.getResumeExecutionMethod = getResumeExecutionMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.ResumeExecutionRequest, dev.tidings.v1.ResumeExecutionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ResumeExecution"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ResumeExecutionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.ResumeExecutionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("ResumeExecution"))
              .build();
        }
      }
    }
    return getResumeExecutionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.CancelExecutionRequest,
      dev.tidings.v1.CancelExecutionResponse> getCancelExecutionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CancelExecution",
      requestType = dev.tidings.v1.CancelExecutionRequest.class,
      responseType = dev.tidings.v1.CancelExecutionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.CancelExecutionRequest,
      dev.tidings.v1.CancelExecutionResponse> getCancelExecutionMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.CancelExecutionRequest, dev.tidings.v1.CancelExecutionResponse> getCancelExecutionMethod;
    if ((getCancelExecutionMethod = ExecutionServiceGrpc.getCancelExecutionMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getCancelExecutionMethod = ExecutionServiceGrpc.getCancelExecutionMethod) == null) {
          ExecutionServiceGrpc.getCancelExecutionMethod = getCancelExecutionMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.CancelExecutionRequest, dev.tidings.v1.CancelExecutionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CancelExecution"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CancelExecutionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CancelExecutionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("CancelExecution"))
              .build();
        }
      }
    }
    return getCancelExecutionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.RollbackExecutionRequest,
      dev.tidings.v1.RollbackExecutionResponse> getRollbackExecutionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RollbackExecution",
      requestType = dev.tidings.v1.RollbackExecutionRequest.class,
      responseType = dev.tidings.v1.RollbackExecutionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.RollbackExecutionRequest,
      dev.tidings.v1.RollbackExecutionResponse> getRollbackExecutionMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.RollbackExecutionRequest, dev.tidings.v1.RollbackExecutionResponse> getRollbackExecutionMethod;
    if ((getRollbackExecutionMethod = ExecutionServiceGrpc.getRollbackExecutionMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getRollbackExecutionMethod = ExecutionServiceGrpc.getRollbackExecutionMethod) == null) {
          ExecutionServiceGrpc.getRollbackExecutionMethod = getRollbackExecutionMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.RollbackExecutionRequest, dev.tidings.v1.RollbackExecutionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RollbackExecution"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.RollbackExecutionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.RollbackExecutionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("RollbackExecution"))
              .build();
        }
      }
    }
    return getRollbackExecutionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.RetryTaskRequest,
      dev.tidings.v1.RetryTaskResponse> getRetryTaskMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RetryTask",
      requestType = dev.tidings.v1.RetryTaskRequest.class,
      responseType = dev.tidings.v1.RetryTaskResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.RetryTaskRequest,
      dev.tidings.v1.RetryTaskResponse> getRetryTaskMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.RetryTaskRequest, dev.tidings.v1.RetryTaskResponse> getRetryTaskMethod;
    if ((getRetryTaskMethod = ExecutionServiceGrpc.getRetryTaskMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getRetryTaskMethod = ExecutionServiceGrpc.getRetryTaskMethod) == null) {
          ExecutionServiceGrpc.getRetryTaskMethod = getRetryTaskMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.RetryTaskRequest, dev.tidings.v1.RetryTaskResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RetryTask"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.RetryTaskRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.RetryTaskResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("RetryTask"))
              .build();
        }
      }
    }
    return getRetryTaskMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.SkipTaskRequest,
      dev.tidings.v1.SkipTaskResponse> getSkipTaskMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SkipTask",
      requestType = dev.tidings.v1.SkipTaskRequest.class,
      responseType = dev.tidings.v1.SkipTaskResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.SkipTaskRequest,
      dev.tidings.v1.SkipTaskResponse> getSkipTaskMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.SkipTaskRequest, dev.tidings.v1.SkipTaskResponse> getSkipTaskMethod;
    if ((getSkipTaskMethod = ExecutionServiceGrpc.getSkipTaskMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getSkipTaskMethod = ExecutionServiceGrpc.getSkipTaskMethod) == null) {
          ExecutionServiceGrpc.getSkipTaskMethod = getSkipTaskMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.SkipTaskRequest, dev.tidings.v1.SkipTaskResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SkipTask"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.SkipTaskRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.SkipTaskResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("SkipTask"))
              .build();
        }
      }
    }
    return getSkipTaskMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tidings.v1.CompleteTaskRequest,
      dev.tidings.v1.CompleteTaskResponse> getCompleteTaskMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CompleteTask",
      requestType = dev.tidings.v1.CompleteTaskRequest.class,
      responseType = dev.tidings.v1.CompleteTaskResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tidings.v1.CompleteTaskRequest,
      dev.tidings.v1.CompleteTaskResponse> getCompleteTaskMethod() {
    io.grpc.MethodDescriptor<dev.tidings.v1.CompleteTaskRequest, dev.tidings.v1.CompleteTaskResponse> getCompleteTaskMethod;
    if ((getCompleteTaskMethod = ExecutionServiceGrpc.getCompleteTaskMethod) == null) {
      synchronized (ExecutionServiceGrpc.class) {
        if ((getCompleteTaskMethod = ExecutionServiceGrpc.getCompleteTaskMethod) == null) {
          ExecutionServiceGrpc.getCompleteTaskMethod = getCompleteTaskMethod =
              io.grpc.MethodDescriptor.<dev.tidings.v1.CompleteTaskRequest, dev.tidings.v1.CompleteTaskResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CompleteTask"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CompleteTaskRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tidings.v1.CompleteTaskResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ExecutionServiceMethodDescriptorSupplier("CompleteTask"))
              .build();
        }
      }
    }
    return getCompleteTaskMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static ExecutionServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ExecutionServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ExecutionServiceStub>() {
        @java.lang.Override
        public ExecutionServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ExecutionServiceStub(channel, callOptions);
        }
      };
    return ExecutionServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static ExecutionServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ExecutionServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ExecutionServiceBlockingV2Stub>() {
        @java.lang.Override
        public ExecutionServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ExecutionServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return ExecutionServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static ExecutionServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ExecutionServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ExecutionServiceBlockingStub>() {
        @java.lang.Override
        public ExecutionServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ExecutionServiceBlockingStub(channel, callOptions);
        }
      };
    return ExecutionServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static ExecutionServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ExecutionServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ExecutionServiceFutureStub>() {
        @java.lang.Override
        public ExecutionServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ExecutionServiceFutureStub(channel, callOptions);
        }
      };
    return ExecutionServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * ExecutionService runs workflows. Every state change of an execution or a
   * task is committed together with its event (the outbox), so what the
   * dispatcher delivers is exactly what happened.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Starts an execution; returns once the execution and its first event are
     * committed. With a request_id, a repeated call returns the same execution;
     * the id reused for a different request is INVALID_ARGUMENT (request_id).
     * </pre>
     */
    default void startExecution(dev.tidings.v1.StartExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.StartExecutionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getStartExecutionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns an execution by id.
     * </pre>
     */
    default void getExecution(dev.tidings.v1.GetExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.GetExecutionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetExecutionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns a page of executions in start order, optionally of one workflow and
     * in one state.
     * </pre>
     */
    default void listExecutions(dev.tidings.v1.ListExecutionsRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListExecutionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListExecutionsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns a page of an execution's tasks, in creation order.
     * </pre>
     */
    default void listTasks(dev.tidings.v1.ListTasksRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListTasksResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListTasksMethod(), responseObserver);
    }

    /**
     * <pre>
     * Pauses a running execution: running calls finish, nothing new starts until
     * it is resumed.
     * </pre>
     */
    default void pauseExecution(dev.tidings.v1.PauseExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.PauseExecutionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPauseExecutionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Resumes a paused execution: what waited starts.
     * </pre>
     */
    default void resumeExecution(dev.tidings.v1.ResumeExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ResumeExecutionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getResumeExecutionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Cancels a running or paused execution (thain "killed").
     * </pre>
     */
    default void cancelExecution(dev.tidings.v1.CancelExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CancelExecutionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCancelExecutionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Runs the rollback actions of the completed tasks in reverse order.
     * </pre>
     */
    default void rollbackExecution(dev.tidings.v1.RollbackExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.RollbackExecutionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRollbackExecutionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Re-runs a failed task and continues the flow.
     * </pre>
     */
    default void retryTask(dev.tidings.v1.RetryTaskRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.RetryTaskResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRetryTaskMethod(), responseObserver);
    }

    /**
     * <pre>
     * Marks a task passed with the given result and continues the flow.
     * </pre>
     */
    default void skipTask(dev.tidings.v1.SkipTaskRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.SkipTaskResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSkipTaskMethod(), responseObserver);
    }

    /**
     * <pre>
     * The callback of an asynchronous atom.
     * </pre>
     */
    default void completeTask(dev.tidings.v1.CompleteTaskRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CompleteTaskResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCompleteTaskMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service ExecutionService.
   * <pre>
   * ExecutionService runs workflows. Every state change of an execution or a
   * task is committed together with its event (the outbox), so what the
   * dispatcher delivers is exactly what happened.
   * </pre>
   */
  public static abstract class ExecutionServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return ExecutionServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service ExecutionService.
   * <pre>
   * ExecutionService runs workflows. Every state change of an execution or a
   * task is committed together with its event (the outbox), so what the
   * dispatcher delivers is exactly what happened.
   * </pre>
   */
  public static final class ExecutionServiceStub
      extends io.grpc.stub.AbstractAsyncStub<ExecutionServiceStub> {
    private ExecutionServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ExecutionServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ExecutionServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Starts an execution; returns once the execution and its first event are
     * committed. With a request_id, a repeated call returns the same execution;
     * the id reused for a different request is INVALID_ARGUMENT (request_id).
     * </pre>
     */
    public void startExecution(dev.tidings.v1.StartExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.StartExecutionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getStartExecutionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns an execution by id.
     * </pre>
     */
    public void getExecution(dev.tidings.v1.GetExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.GetExecutionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetExecutionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns a page of executions in start order, optionally of one workflow and
     * in one state.
     * </pre>
     */
    public void listExecutions(dev.tidings.v1.ListExecutionsRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListExecutionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListExecutionsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns a page of an execution's tasks, in creation order.
     * </pre>
     */
    public void listTasks(dev.tidings.v1.ListTasksRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ListTasksResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListTasksMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Pauses a running execution: running calls finish, nothing new starts until
     * it is resumed.
     * </pre>
     */
    public void pauseExecution(dev.tidings.v1.PauseExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.PauseExecutionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPauseExecutionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Resumes a paused execution: what waited starts.
     * </pre>
     */
    public void resumeExecution(dev.tidings.v1.ResumeExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.ResumeExecutionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getResumeExecutionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Cancels a running or paused execution (thain "killed").
     * </pre>
     */
    public void cancelExecution(dev.tidings.v1.CancelExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CancelExecutionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCancelExecutionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Runs the rollback actions of the completed tasks in reverse order.
     * </pre>
     */
    public void rollbackExecution(dev.tidings.v1.RollbackExecutionRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.RollbackExecutionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRollbackExecutionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Re-runs a failed task and continues the flow.
     * </pre>
     */
    public void retryTask(dev.tidings.v1.RetryTaskRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.RetryTaskResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRetryTaskMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Marks a task passed with the given result and continues the flow.
     * </pre>
     */
    public void skipTask(dev.tidings.v1.SkipTaskRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.SkipTaskResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSkipTaskMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * The callback of an asynchronous atom.
     * </pre>
     */
    public void completeTask(dev.tidings.v1.CompleteTaskRequest request,
        io.grpc.stub.StreamObserver<dev.tidings.v1.CompleteTaskResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCompleteTaskMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service ExecutionService.
   * <pre>
   * ExecutionService runs workflows. Every state change of an execution or a
   * task is committed together with its event (the outbox), so what the
   * dispatcher delivers is exactly what happened.
   * </pre>
   */
  public static final class ExecutionServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<ExecutionServiceBlockingV2Stub> {
    private ExecutionServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ExecutionServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ExecutionServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Starts an execution; returns once the execution and its first event are
     * committed. With a request_id, a repeated call returns the same execution;
     * the id reused for a different request is INVALID_ARGUMENT (request_id).
     * </pre>
     */
    public dev.tidings.v1.StartExecutionResponse startExecution(dev.tidings.v1.StartExecutionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getStartExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns an execution by id.
     * </pre>
     */
    public dev.tidings.v1.GetExecutionResponse getExecution(dev.tidings.v1.GetExecutionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of executions in start order, optionally of one workflow and
     * in one state.
     * </pre>
     */
    public dev.tidings.v1.ListExecutionsResponse listExecutions(dev.tidings.v1.ListExecutionsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListExecutionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of an execution's tasks, in creation order.
     * </pre>
     */
    public dev.tidings.v1.ListTasksResponse listTasks(dev.tidings.v1.ListTasksRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListTasksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Pauses a running execution: running calls finish, nothing new starts until
     * it is resumed.
     * </pre>
     */
    public dev.tidings.v1.PauseExecutionResponse pauseExecution(dev.tidings.v1.PauseExecutionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getPauseExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Resumes a paused execution: what waited starts.
     * </pre>
     */
    public dev.tidings.v1.ResumeExecutionResponse resumeExecution(dev.tidings.v1.ResumeExecutionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getResumeExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Cancels a running or paused execution (thain "killed").
     * </pre>
     */
    public dev.tidings.v1.CancelExecutionResponse cancelExecution(dev.tidings.v1.CancelExecutionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCancelExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Runs the rollback actions of the completed tasks in reverse order.
     * </pre>
     */
    public dev.tidings.v1.RollbackExecutionResponse rollbackExecution(dev.tidings.v1.RollbackExecutionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRollbackExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Re-runs a failed task and continues the flow.
     * </pre>
     */
    public dev.tidings.v1.RetryTaskResponse retryTask(dev.tidings.v1.RetryTaskRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRetryTaskMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Marks a task passed with the given result and continues the flow.
     * </pre>
     */
    public dev.tidings.v1.SkipTaskResponse skipTask(dev.tidings.v1.SkipTaskRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSkipTaskMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * The callback of an asynchronous atom.
     * </pre>
     */
    public dev.tidings.v1.CompleteTaskResponse completeTask(dev.tidings.v1.CompleteTaskRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCompleteTaskMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service ExecutionService.
   * <pre>
   * ExecutionService runs workflows. Every state change of an execution or a
   * task is committed together with its event (the outbox), so what the
   * dispatcher delivers is exactly what happened.
   * </pre>
   */
  public static final class ExecutionServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<ExecutionServiceBlockingStub> {
    private ExecutionServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ExecutionServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ExecutionServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Starts an execution; returns once the execution and its first event are
     * committed. With a request_id, a repeated call returns the same execution;
     * the id reused for a different request is INVALID_ARGUMENT (request_id).
     * </pre>
     */
    public dev.tidings.v1.StartExecutionResponse startExecution(dev.tidings.v1.StartExecutionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getStartExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns an execution by id.
     * </pre>
     */
    public dev.tidings.v1.GetExecutionResponse getExecution(dev.tidings.v1.GetExecutionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of executions in start order, optionally of one workflow and
     * in one state.
     * </pre>
     */
    public dev.tidings.v1.ListExecutionsResponse listExecutions(dev.tidings.v1.ListExecutionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListExecutionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns a page of an execution's tasks, in creation order.
     * </pre>
     */
    public dev.tidings.v1.ListTasksResponse listTasks(dev.tidings.v1.ListTasksRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListTasksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Pauses a running execution: running calls finish, nothing new starts until
     * it is resumed.
     * </pre>
     */
    public dev.tidings.v1.PauseExecutionResponse pauseExecution(dev.tidings.v1.PauseExecutionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPauseExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Resumes a paused execution: what waited starts.
     * </pre>
     */
    public dev.tidings.v1.ResumeExecutionResponse resumeExecution(dev.tidings.v1.ResumeExecutionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getResumeExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Cancels a running or paused execution (thain "killed").
     * </pre>
     */
    public dev.tidings.v1.CancelExecutionResponse cancelExecution(dev.tidings.v1.CancelExecutionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCancelExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Runs the rollback actions of the completed tasks in reverse order.
     * </pre>
     */
    public dev.tidings.v1.RollbackExecutionResponse rollbackExecution(dev.tidings.v1.RollbackExecutionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRollbackExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Re-runs a failed task and continues the flow.
     * </pre>
     */
    public dev.tidings.v1.RetryTaskResponse retryTask(dev.tidings.v1.RetryTaskRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRetryTaskMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Marks a task passed with the given result and continues the flow.
     * </pre>
     */
    public dev.tidings.v1.SkipTaskResponse skipTask(dev.tidings.v1.SkipTaskRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSkipTaskMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * The callback of an asynchronous atom.
     * </pre>
     */
    public dev.tidings.v1.CompleteTaskResponse completeTask(dev.tidings.v1.CompleteTaskRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCompleteTaskMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service ExecutionService.
   * <pre>
   * ExecutionService runs workflows. Every state change of an execution or a
   * task is committed together with its event (the outbox), so what the
   * dispatcher delivers is exactly what happened.
   * </pre>
   */
  public static final class ExecutionServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<ExecutionServiceFutureStub> {
    private ExecutionServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ExecutionServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ExecutionServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Starts an execution; returns once the execution and its first event are
     * committed. With a request_id, a repeated call returns the same execution;
     * the id reused for a different request is INVALID_ARGUMENT (request_id).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.StartExecutionResponse> startExecution(
        dev.tidings.v1.StartExecutionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getStartExecutionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns an execution by id.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.GetExecutionResponse> getExecution(
        dev.tidings.v1.GetExecutionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetExecutionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns a page of executions in start order, optionally of one workflow and
     * in one state.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.ListExecutionsResponse> listExecutions(
        dev.tidings.v1.ListExecutionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListExecutionsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns a page of an execution's tasks, in creation order.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.ListTasksResponse> listTasks(
        dev.tidings.v1.ListTasksRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListTasksMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Pauses a running execution: running calls finish, nothing new starts until
     * it is resumed.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.PauseExecutionResponse> pauseExecution(
        dev.tidings.v1.PauseExecutionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPauseExecutionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Resumes a paused execution: what waited starts.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.ResumeExecutionResponse> resumeExecution(
        dev.tidings.v1.ResumeExecutionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getResumeExecutionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Cancels a running or paused execution (thain "killed").
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.CancelExecutionResponse> cancelExecution(
        dev.tidings.v1.CancelExecutionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCancelExecutionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Runs the rollback actions of the completed tasks in reverse order.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.RollbackExecutionResponse> rollbackExecution(
        dev.tidings.v1.RollbackExecutionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRollbackExecutionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Re-runs a failed task and continues the flow.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.RetryTaskResponse> retryTask(
        dev.tidings.v1.RetryTaskRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRetryTaskMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Marks a task passed with the given result and continues the flow.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.SkipTaskResponse> skipTask(
        dev.tidings.v1.SkipTaskRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSkipTaskMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * The callback of an asynchronous atom.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tidings.v1.CompleteTaskResponse> completeTask(
        dev.tidings.v1.CompleteTaskRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCompleteTaskMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_START_EXECUTION = 0;
  private static final int METHODID_GET_EXECUTION = 1;
  private static final int METHODID_LIST_EXECUTIONS = 2;
  private static final int METHODID_LIST_TASKS = 3;
  private static final int METHODID_PAUSE_EXECUTION = 4;
  private static final int METHODID_RESUME_EXECUTION = 5;
  private static final int METHODID_CANCEL_EXECUTION = 6;
  private static final int METHODID_ROLLBACK_EXECUTION = 7;
  private static final int METHODID_RETRY_TASK = 8;
  private static final int METHODID_SKIP_TASK = 9;
  private static final int METHODID_COMPLETE_TASK = 10;

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
        case METHODID_START_EXECUTION:
          serviceImpl.startExecution((dev.tidings.v1.StartExecutionRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.StartExecutionResponse>) responseObserver);
          break;
        case METHODID_GET_EXECUTION:
          serviceImpl.getExecution((dev.tidings.v1.GetExecutionRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.GetExecutionResponse>) responseObserver);
          break;
        case METHODID_LIST_EXECUTIONS:
          serviceImpl.listExecutions((dev.tidings.v1.ListExecutionsRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.ListExecutionsResponse>) responseObserver);
          break;
        case METHODID_LIST_TASKS:
          serviceImpl.listTasks((dev.tidings.v1.ListTasksRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.ListTasksResponse>) responseObserver);
          break;
        case METHODID_PAUSE_EXECUTION:
          serviceImpl.pauseExecution((dev.tidings.v1.PauseExecutionRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.PauseExecutionResponse>) responseObserver);
          break;
        case METHODID_RESUME_EXECUTION:
          serviceImpl.resumeExecution((dev.tidings.v1.ResumeExecutionRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.ResumeExecutionResponse>) responseObserver);
          break;
        case METHODID_CANCEL_EXECUTION:
          serviceImpl.cancelExecution((dev.tidings.v1.CancelExecutionRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.CancelExecutionResponse>) responseObserver);
          break;
        case METHODID_ROLLBACK_EXECUTION:
          serviceImpl.rollbackExecution((dev.tidings.v1.RollbackExecutionRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.RollbackExecutionResponse>) responseObserver);
          break;
        case METHODID_RETRY_TASK:
          serviceImpl.retryTask((dev.tidings.v1.RetryTaskRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.RetryTaskResponse>) responseObserver);
          break;
        case METHODID_SKIP_TASK:
          serviceImpl.skipTask((dev.tidings.v1.SkipTaskRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.SkipTaskResponse>) responseObserver);
          break;
        case METHODID_COMPLETE_TASK:
          serviceImpl.completeTask((dev.tidings.v1.CompleteTaskRequest) request,
              (io.grpc.stub.StreamObserver<dev.tidings.v1.CompleteTaskResponse>) responseObserver);
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
          getStartExecutionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.StartExecutionRequest,
              dev.tidings.v1.StartExecutionResponse>(
                service, METHODID_START_EXECUTION)))
        .addMethod(
          getGetExecutionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.GetExecutionRequest,
              dev.tidings.v1.GetExecutionResponse>(
                service, METHODID_GET_EXECUTION)))
        .addMethod(
          getListExecutionsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.ListExecutionsRequest,
              dev.tidings.v1.ListExecutionsResponse>(
                service, METHODID_LIST_EXECUTIONS)))
        .addMethod(
          getListTasksMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.ListTasksRequest,
              dev.tidings.v1.ListTasksResponse>(
                service, METHODID_LIST_TASKS)))
        .addMethod(
          getPauseExecutionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.PauseExecutionRequest,
              dev.tidings.v1.PauseExecutionResponse>(
                service, METHODID_PAUSE_EXECUTION)))
        .addMethod(
          getResumeExecutionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.ResumeExecutionRequest,
              dev.tidings.v1.ResumeExecutionResponse>(
                service, METHODID_RESUME_EXECUTION)))
        .addMethod(
          getCancelExecutionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.CancelExecutionRequest,
              dev.tidings.v1.CancelExecutionResponse>(
                service, METHODID_CANCEL_EXECUTION)))
        .addMethod(
          getRollbackExecutionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.RollbackExecutionRequest,
              dev.tidings.v1.RollbackExecutionResponse>(
                service, METHODID_ROLLBACK_EXECUTION)))
        .addMethod(
          getRetryTaskMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.RetryTaskRequest,
              dev.tidings.v1.RetryTaskResponse>(
                service, METHODID_RETRY_TASK)))
        .addMethod(
          getSkipTaskMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.SkipTaskRequest,
              dev.tidings.v1.SkipTaskResponse>(
                service, METHODID_SKIP_TASK)))
        .addMethod(
          getCompleteTaskMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tidings.v1.CompleteTaskRequest,
              dev.tidings.v1.CompleteTaskResponse>(
                service, METHODID_COMPLETE_TASK)))
        .build();
  }

  private static abstract class ExecutionServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    ExecutionServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.tidings.v1.ExecutionProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("ExecutionService");
    }
  }

  private static final class ExecutionServiceFileDescriptorSupplier
      extends ExecutionServiceBaseDescriptorSupplier {
    ExecutionServiceFileDescriptorSupplier() {}
  }

  private static final class ExecutionServiceMethodDescriptorSupplier
      extends ExecutionServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    ExecutionServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (ExecutionServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new ExecutionServiceFileDescriptorSupplier())
              .addMethod(getStartExecutionMethod())
              .addMethod(getGetExecutionMethod())
              .addMethod(getListExecutionsMethod())
              .addMethod(getListTasksMethod())
              .addMethod(getPauseExecutionMethod())
              .addMethod(getResumeExecutionMethod())
              .addMethod(getCancelExecutionMethod())
              .addMethod(getRollbackExecutionMethod())
              .addMethod(getRetryTaskMethod())
              .addMethod(getSkipTaskMethod())
              .addMethod(getCompleteTaskMethod())
              .build();
        }
      }
    }
    return result;
  }
}
