// ResNet-50's 1x1 stride-1 convolutions (64x64 input, batch 32) in oneDNN: the convolution primitives
// (weights already in their blocked layouts; the reorders the engine does each step timed apart) against
// matmuls on the HWIO filter as stored. Build and run:
//   g++ -O2 -std=c++17 native/tools/pointwise_matmul.cpp -ldnnl -o /tmp/pointwise && /tmp/pointwise
#include <dnnl.hpp>
#include <chrono>
#include <cstdio>
using namespace dnnl; using dt = memory::data_type; using tag = memory::format_tag;
static engine eng(engine::kind::cpu, 0); static stream s(eng);
static double now(){ return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
template<class F> double run(F f){ f(); s.wait(); double t=now(); for(int i=0;i<5;i++) f(); s.wait(); return (now()-t)/5; }
// C->O 1x1 stride 1 on N x H x H
void one(int N,int H,int C,int O,int cnt,double* acc){
  memory::dims sd={N,C,H,H}, wd={O,C,1,1}, dd={N,O,H,H};
  auto smd=memory::desc(sd,dt::f32,tag::nhwc), dmd=memory::desc(dd,dt::f32,tag::nhwc), wany=memory::desc(wd,dt::f32,tag::any);
  auto fpd=convolution_forward::primitive_desc(convolution_forward::desc(prop_kind::forward_training,algorithm::convolution_direct,smd,wany,dmd,{1,1},{0,0},{0,0}),eng);
  auto bdpd=convolution_backward_data::primitive_desc(convolution_backward_data::desc(algorithm::convolution_direct,smd,wany,dmd,{1,1},{0,0},{0,0}),eng,fpd);
  auto bwpd=convolution_backward_weights::primitive_desc(convolution_backward_weights::desc(algorithm::convolution_direct,smd,wany,dmd,{1,1},{0,0},{0,0}),eng,fpd);
  memory src(smd,eng), dst(dmd,eng), w(fpd.weights_desc(),eng), w2(bdpd.weights_desc(),eng), dw(bwpd.diff_weights_desc(),eng), ds(smd,eng);
  convolution_forward f(fpd); convolution_backward_data bd(bdpd); convolution_backward_weights bw(bwpd);
  double cf=run([&]{f.execute(s,{{DNNL_ARG_SRC,src},{DNNL_ARG_WEIGHTS,w},{DNNL_ARG_DST,dst}});});
  double cbd=run([&]{bd.execute(s,{{DNNL_ARG_DIFF_DST,dst},{DNNL_ARG_WEIGHTS,w2},{DNNL_ARG_DIFF_SRC,ds}});});
  double cbw=run([&]{bw.execute(s,{{DNNL_ARG_SRC,src},{DNNL_ARG_DIFF_DST,dst},{DNNL_ARG_DIFF_WEIGHTS,dw}});});
  // matmuls: M = N*H*H
  const long M=(long)N*H*H;
  auto A=memory::desc({M,C},dt::f32,memory::dims{C,1}); auto Wp=memory::desc({C,O},dt::f32,memory::dims{O,1});
  auto Y=memory::desc({M,O},dt::f32,memory::dims{O,1});
  auto WT=memory::desc({O,C},dt::f32,memory::dims{1,O}); // W^T view of [C,O] row-major
  auto DX=memory::desc({M,C},dt::f32,memory::dims{C,1});
  auto XT=memory::desc({C,M},dt::f32,memory::dims{1,C}); // x^T view
  auto DW=memory::desc({C,O},dt::f32,memory::dims{O,1});
  memory a(A,eng), wp(Wp,eng), y(Y,eng), dx(DX,eng), dwp(DW,eng);
  auto m1=matmul(matmul::primitive_desc(matmul::desc(A,Wp,Y),eng));
  auto m2=matmul(matmul::primitive_desc(matmul::desc(Y,WT,DX),eng));
  auto m3=matmul(matmul::primitive_desc(matmul::desc(XT,Y,DW),eng));
  memory wt(WT,eng,wp.get_data_handle()), xt(XT,eng,a.get_data_handle());
  double mf=run([&]{m1.execute(s,{{DNNL_ARG_SRC,a},{DNNL_ARG_WEIGHTS,wp},{DNNL_ARG_DST,y}});});
  double mbd=run([&]{m2.execute(s,{{DNNL_ARG_SRC,y},{DNNL_ARG_WEIGHTS,wt},{DNNL_ARG_DST,dx}});});
  double mbw=run([&]{m3.execute(s,{{DNNL_ARG_SRC,xt},{DNNL_ARG_WEIGHTS,y},{DNNL_ARG_DST,dwp}});});
  // conv reorders as the engine does them
  auto hwio=memory::desc(wd,dt::f32,tag::hwio); memory uw(hwio,eng);
  auto r1=reorder(uw,w), r2=reorder(uw,w2), r3=reorder(dw,uw);
  double rr=run([&]{r1.execute(s,uw,w); r2.execute(s,uw,w2); r3.execute(s,dw,uw);});
  printf("%dx%d %4d->%4d x%d conv f/bd/bw %.2f %.2f %.2f +reorders %.2f | matmul %.2f %.2f %.2f ms\n",H,H,C,O,cnt,cf*1e3,cbd*1e3,cbw*1e3,rr*1e3,mf*1e3,mbd*1e3,mbw*1e3);
  acc[0]+=cnt*(cf+cbd+cbw); acc[1]+=cnt*rr; acc[2]+=cnt*(mf+mbd+mbw);
}
int main(){ double acc[3]={0,0,0};
  one(32,15,64,64,1,acc); one(32,15,64,256,4,acc); one(32,15,256,64,2,acc);
  one(32,8,128,512,4,acc); one(32,8,512,128,3,acc);
  one(32,4,256,1024,6,acc); one(32,4,1024,256,5,acc);
  one(32,2,512,2048,3,acc); one(32,2,2048,512,2,acc);
  printf("total 1x1 s1: conv %.1f ms + reorders %.1f ms | matmul %.1f ms\n",acc[0]*1e3,acc[1]*1e3,acc[2]*1e3);
}
